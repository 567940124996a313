"""Cameras as uploaders (DESIGN §9): devices, their profiles, connection tests, status reports, health.

- ``devices.models``     a device (an FTP user of kind *device*: target album, section, profile) and its status reports
- ``devices.profiles``   how each camera family's files are read: names, tests, metadata, required fields, reports
- ``devices.services``   creating and changing devices, recording tests and reports, health figures
- ``devices.paths``      a device's view of its album: virtual folders, and a path's album file name

A device sees its album as ``/`` through every door (``tree.resolve`` asks ``devices.paths``).
"""
