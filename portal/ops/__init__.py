"""Operations for whoever runs the portal: backup and restore of its database (`flask ops ...`)."""
