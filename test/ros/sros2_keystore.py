"""Build an SROS2 keystore with openssl, in the layout ``ros2 security`` creates.

The PyPI ROS wheels ship no ``sros2`` (no ``ros2 security`` command), so the test that starts
the nodes with DDS-Security builds the keystore the way ``ros2 security create_keystore`` and
``create_enclave`` do: one self-signed CA (prime256v1) as identity and permissions CA,
``enclaves/governance.p7s`` (everything encrypted, unauthenticated participants refused) and,
per enclave, ``cert.pem`` / ``key.pem`` (subject ``CN=<enclave>``) and a signed
``permissions.p7s``. Usage: ``create_keystore(path, ["/liquid_controller"])``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

DOMAINS = "<domains><id_range><min>0</min><max>232</max></id_range></domains>"

GOVERNANCE = f"""<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:noNamespaceSchemaLocation="http://www.omg.org/spec/DDS-SECURITY/20170901/omg_shared_ca_governance.xsd">
  <domain_access_rules>
    <domain_rule>
      {DOMAINS}
      <allow_unauthenticated_participants>false</allow_unauthenticated_participants>
      <enable_join_access_control>true</enable_join_access_control>
      <discovery_protection_kind>ENCRYPT</discovery_protection_kind>
      <liveliness_protection_kind>ENCRYPT</liveliness_protection_kind>
      <rtps_protection_kind>SIGN</rtps_protection_kind>
      <topic_access_rules>
        <topic_rule>
          <topic_expression>*</topic_expression>
          <enable_discovery_protection>true</enable_discovery_protection>
          <enable_liveliness_protection>true</enable_liveliness_protection>
          <enable_read_access_control>true</enable_read_access_control>
          <enable_write_access_control>true</enable_write_access_control>
          <metadata_protection_kind>ENCRYPT</metadata_protection_kind>
          <data_protection_kind>ENCRYPT</data_protection_kind>
        </topic_rule>
      </topic_access_rules>
    </domain_rule>
  </domain_access_rules>
</dds>
"""

PERMISSIONS = """<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xsi:noNamespaceSchemaLocation="http://www.omg.org/spec/DDS-SECURITY/20170901/omg_shared_ca_permissions.xsd">
  <permissions>
    <grant name="{enclave}">
      <subject_name>CN={enclave}</subject_name>
      <validity><not_before>2020-01-01T00:00:00</not_before><not_after>2040-01-01T00:00:00</not_after></validity>
      <allow_rule>
        {domains}
        <publish><topics><topic>*</topic></topics></publish>
        <subscribe><topics><topic>*</topic></topics></subscribe>
      </allow_rule>
      <default>DENY</default>
    </grant>
  </permissions>
</dds>
"""


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def _sign(source: Path, signed: Path, ca_cert: Path, ca_key: Path) -> None:
    _openssl(
        "smime", "-sign", "-text", "-in", source, "-out", signed,
        "-signer", ca_cert, "-inkey", ca_key,
    )  # fmt: skip


def create_keystore(root: Path, enclaves: Sequence[str]) -> Path:
    """Create a keystore at ``root`` with the given enclaves (e.g. ``/liquid_controller``).

    Raises:
        FileNotFoundError: openssl is not installed.
        subprocess.CalledProcessError: an openssl step failed.
    """
    if shutil.which("openssl") is None:
        raise FileNotFoundError("openssl is needed to build the test keystore")
    public, private, enclave_dir = root / "public", root / "private", root / "enclaves"
    for directory in (public, private, enclave_dir):
        directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = public / "ca.cert.pem", private / "ca.key.pem"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    _openssl(
        "req", "-x509", "-new", "-key", ca_key, "-out", ca_cert, "-days", "3650",
        "-sha256", "-subj", "/CN=sros2testCA",
    )  # fmt: skip
    for role in ("identity_ca", "permissions_ca"):
        (public / f"{role}.cert.pem").symlink_to(ca_cert.name)
        (private / f"{role}.key.pem").symlink_to(ca_key.name)
    (enclave_dir / "governance.xml").write_text(GOVERNANCE)
    _sign(enclave_dir / "governance.xml", enclave_dir / "governance.p7s", ca_cert, ca_key)
    for enclave in enclaves:
        directory = enclave_dir / enclave.strip("/")
        directory.mkdir(parents=True)
        key, request = directory / "key.pem", directory / "request.pem"
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
        # openssl -subj splits on "/": the enclave's slashes are escaped.
        subject = "/CN=" + enclave.replace("/", "\\/")
        _openssl("req", "-new", "-key", key, "-out", request, "-subj", subject)
        _openssl(
            "x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key,
            "-CAcreateserial", "-out", directory / "cert.pem", "-days", "3650", "-sha256",
        )  # fmt: skip
        request.unlink()
        for role in ("identity_ca", "permissions_ca"):
            shutil.copy(ca_cert, directory / f"{role}.cert.pem")
        shutil.copy(enclave_dir / "governance.p7s", directory / "governance.p7s")
        permissions = directory / "permissions.xml"
        permissions.write_text(PERMISSIONS.format(enclave=enclave, domains=DOMAINS))
        _sign(permissions, directory / "permissions.p7s", ca_cert, ca_key)
    return root
