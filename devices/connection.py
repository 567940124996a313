"""What to type into a camera: the connection data of every door it may use, and INSTAR's parameters.

Built on ``portal.connection`` (hosts, ports, host key and certificate fingerprints), for one
device: SFTP, FTPS (explicit and implicit), plain FTP only where the studio allowed it, and for
the ``instar`` profile the exact ``param.cgi?cmd=setftpattr`` values (``ft_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from devices.models import Device
from portal.connection import FTPSConnection, SFTPConnection, host_public_key


@dataclass(frozen=True)
class CameraConnection:
    device: Device

    @property
    def sftp(self) -> SFTPConnection:
        return SFTPConnection(username=self.device.ftp_user.username)

    @property
    def ftps(self) -> FTPSConnection:
        return FTPSConnection(username=self.device.ftp_user.username)

    @property
    def plain_ftp(self) -> bool:
        return self.device.ftp_user.allow_plain_ftp

    def instar_parameters(self) -> dict[str, list[tuple[str, str]]]:
        """``setftpattr`` values for INSTAR cameras: FTPS (ft_ssl=1) and, on 2K+ models, sFTP (ft_ssl=2)."""
        common = [
            ("ft_username", self.device.ftp_user.username),
            ("ft_password", "(the camera's password)"),
            ("ft_mode", "1"),  # PASV
            ("ft_dirname", "./"),  # the album is the camera's top folder
            ("ft_autocreatedir", "1"),
            ("ft_dirmode", "1"),  # a folder per day is fine
        ]
        ftps = [("ft_server", self.ftps.host), ("ft_port", str(self.ftps.port)), *common, ("ft_ssl", "1")]
        # The FTPS certificate is self-signed: INSTAR cannot pin it, so it must not verify it.
        ftps.append(("ft_insecure", "1"))
        sftp = [("ft_server", self.sftp.host), ("ft_port", str(self.sftp.port)), *common, ("ft_ssl", "2")]
        # sFTP: pin the host key with param.cgi?cmd=testftp&sethost=<key>, then verify it.
        sftp.append(("ft_insecure", "0"))
        return {"FTPS": ftps, "sFTP": sftp}

    def instar_pin_url(self) -> str:
        """INSTAR's command that pins the server's Ed25519 host key for sFTP ("" before the first start)."""
        key = host_public_key("ssh-ed25519")
        return f"http://CAMERA/param.cgi?cmd=testftp&sethost={quote(key, safe='')}" if key else ""

    def instar_set_url(self, kind: str) -> str:
        values = self.instar_parameters()[kind]
        query = "&".join(f"{k}={v}" for k, v in values if k != "ft_password")
        return f"http://CAMERA/param.cgi?cmd=setftpattr&{query}&ft_password=PASSWORD"
