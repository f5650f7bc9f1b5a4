"""What each part may ask of another: a Protocol, its plain dataclasses, its errors and its events.
Contracts import the kernel only, never a module."""
