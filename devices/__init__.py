"""Courtroom devices behind small interfaces: cameras, microphones, face terminal, display, speakers,
the recorder, and a simulated courtroom implementing the same interfaces from files.

Devices know nothing of the store or the server: they take and give plain values (``devices.media``).
"""
