"""What can be booked: airports and place search, weekly schedules imported as dated flights with seat
inventory, and flight search."""
