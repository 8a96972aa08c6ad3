"""The hearing domain: lifecycle, session controller, storage and the one-click start."""
