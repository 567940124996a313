"""The tree every door serves (DESIGN §3): one protocol-neutral package, so SFTP, FTP and FTPS obey
exactly the same rules with the same sentences.

- ``tree.names``       name and path rules (no I/O): allowed names, temporary names, section folders, segments
- ``tree.refusals``    the sentences every refusal carries
- ``tree.principal``   who is logged in (``Principal``) at which door from where (``Client``); password login
- ``tree.guard``       failed-login bans and connection counts, shared through Redis when configured
- ``tree.resolve``     what a path names for a client (top folder, job, album, section, file)
- ``tree.operations``  ``Tree``: listing, stat, mkdir, rmdir, rename, remove, set times, open files
- ``tree.staging``     the staged upload: write, resume, truncate, finish (fsync, store, list, record), abandon
- ``tree.models``      ``TreeFile``: one row per listed file; ``tree.files`` changes them with the upload log
- ``tree.layout``      the only local files: each process's staging folder
- ``tree.notices``     an album's read-only ``REJECTED.txt`` (DESIGN §12; which rejections: ``albums.notices``)

Refusals are the portal's own exceptions (``jobs.exceptions``); a door maps them to its status codes.
Functions that touch Django are synchronous: a threaded door calls them directly, the asyncio door
through ``sftpd.bridge``. Nothing here imports a protocol library.
"""
