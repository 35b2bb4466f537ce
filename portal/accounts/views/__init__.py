"""The accounts blueprints: sign-up, sign-in and identity (account), two-factor, password reset."""
