"""The FTP and FTPS door (DESIGN §8): pyftpdlib's protocol machinery in front of the same tree as SFTP.

- ``ftpd.server``      start and stop the listeners (explicit FTPS / plain FTP, implicit FTPS), threaded
- ``ftpd.handler``     the control connection: login, TLS rules, and every tree command mapped to ``tree``
- ``ftpd.transfers``   data connections: a STOR is finished (durable, recorded) before its 226, never after
- ``ftpd.replies``     the portal's refusals as FTP reply codes, with the tree's sentences
- ``ftpd.listing``     LIST and MLSD lines from the tree's entries
- ``ftpd.tls``         the certificate (made once, like the SSH host keys) and the TLS settings

No rule of DESIGN §3 is written here: the tree decides, this package speaks FTP.
"""
