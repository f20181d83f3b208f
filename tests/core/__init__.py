"""The core: keys, key sets, signing, validation, claims, the validated-token cache and the shared private modules."""
