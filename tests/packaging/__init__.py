"""The package as users install it: the wheel, the sdist, what import tokensmith loads."""
