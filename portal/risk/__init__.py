"""Anti-money-laundering checks on every top-up, payment and withdrawal, and the officers' review queue."""
