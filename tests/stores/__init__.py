"""Key stores: memory, key directories, Redis."""
