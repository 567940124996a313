"""Subjects from QR cards (DESIGN §10): every portrait belongs to the right child.

- ``subjects.models``      a subject of an album (a child), the photos it owns, what a photo's scan found
- ``subjects.codes``       the card payload: format version, the job's public id, the subject number, an HMAC
- ``subjects.services``    roster import and blank cards
- ``subjects.review``      the review actions: move photos, type a code, mark checked (the admin calls them)
- ``subjects.selectors``   reading subjects: ``subjects list --json``
- ``subjects.assignment``  the sequence rule: per camera, by capture time, a card owns the photos after it
- ``subjects.detect``      finding card codes in an image (zxing-cpp, QR only), for the worker
- ``subjects.cards``       the printable A4 sheets of cards (segno, fpdf2)
- ``subjects.export``      the album as a streamed ZIP, a folder per subject
"""
