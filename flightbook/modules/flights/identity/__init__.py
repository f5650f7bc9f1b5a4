"""Who travels: registration, login and profiles (admins are users with a flag)."""
