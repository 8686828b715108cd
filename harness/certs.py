"""Certificates for the emulated world: a private CA the edge signs its TLS certificates with
(clients trust it through the READY line's `ca=`), and throwaway certificates to import into ACM.

EC P-256 keys unless asked otherwise: ACM imports them (EC_prime256v1), every TLS client
accepts them, and they take a millisecond to make where RSA takes a hundred. A certificate to
import can have any key algorithm ACM imports (`self_signed(names, "RSA_2048")`).
"""

import datetime
import ipaddress
import os
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Each key algorithm ACM imports, by the name ACM gives it (KeyAlgorithm).
KEYS = {
    "RSA_1024": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
    "RSA_2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "RSA_3072": lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
    "RSA_4096": lambda: rsa.generate_private_key(public_exponent=65537, key_size=4096),
    "EC_prime256v1": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EC_secp384r1": lambda: ec.generate_private_key(ec.SECP384R1()),
    "EC_secp521r1": lambda: ec.generate_private_key(ec.SECP521R1()),
}


def _key(algorithm="EC_prime256v1"):
    return KEYS[algorithm]()


def _san(name):
    """A SubjectAlternativeName entry: IP addresses are not DNS names to a TLS client."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _pem(cert, key):
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def _leaf(names, issuer_name, issuer_key, key):
    """A server certificate for exactly `names` (the first is also its common name)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


def self_signed(names, algorithm="EC_prime256v1"):
    """(certificate PEM, private key PEM) for `names`, signed by itself, with a key of
    `algorithm` (a key of KEYS): what the seed imports into ACM, where only the names and the
    key algorithm matter (the edge re-issues them under its own CA)."""
    key = _key(algorithm)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    return _pem(_leaf(names, subject, key, key), key)


class CertificateAuthority:
    """A private CA in `directory`: `ca.pem` for clients, and leaf certificates issued on demand
    (cached by their names) as files an `ssl.SSLContext` can load."""

    def __init__(self, directory):
        self.directory = directory
        self.key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "standin emulator CA")])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                    key_encipherment=False, data_encipherment=False, key_agreement=False,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.path = os.path.join(directory, "ca.pem")
        with open(self.path, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))
        self._issued = {}
        self._lock = threading.Lock()

    def issue(self, names):
        """(cert file, key file) for a leaf naming exactly `names`, issued once per set of names."""
        names = tuple(names)
        with self._lock:
            if names not in self._issued:
                key = _key()
                cert_pem, key_pem = _pem(_leaf(list(names), self.cert.subject, self.key, key), key)
                base = os.path.join(self.directory, f"leaf-{len(self._issued)}")
                with open(base + ".pem", "wb") as f:
                    f.write(cert_pem)
                with open(base + ".key", "wb") as f:
                    f.write(key_pem)
                self._issued[names] = (base + ".pem", base + ".key")
            return self._issued[names]
