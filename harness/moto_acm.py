"""ACM's ListCertificates as AWS filters it, where moto 5.2.5 differs.

- Without `Includes.keyTypes`, only RSA_1024 and RSA_2048 certificates that have at least one
  domain are listed: botocore model ACM.ListCertificates, member `Includes` (Filters.keyTypes):
  "Default filtering returns only RSA_1024 and RSA_2048 certificates that have at least one
  domain. To return other certificate types, provide the desired type signatures". moto listed
  every certificate when `Includes` was absent, and applied no key-type filter when `Includes`
  was given without `keyTypes`.
- With `Includes.keyTypes`, exactly those key algorithms (as moto did).

An imported certificate's `KeyAlgorithm` is named as ACM names it (`RSA_2048`, `EC_prime256v1`,
`EC_secp384r1`, `EC_secp521r1`): moto already does; test_acm.py holds it to that.
"""

from moto.acm.models import AWSCertificateManagerBackend

DEFAULT_KEY_TYPES = ("RSA_1024", "RSA_2048")


def _list_certificates(original):
    def list_certificates(self, statuses, includes):
        includes = dict(includes or {})
        default = "keyTypes" not in includes
        if default:
            includes["keyTypes"] = list(DEFAULT_KEY_TYPES)
        for cert in original(self, statuses, includes):
            # "that have at least one domain": moto's DomainName is the subject's CN, else the
            # first SAN, else empty.
            if default and not cert.common_name:
                continue
            yield cert

    return list_certificates


def install():
    """Applies every patch; idempotent."""
    if getattr(AWSCertificateManagerBackend, "_standin_key_types", False):
        return
    AWSCertificateManagerBackend.list_certificates = _list_certificates(
        AWSCertificateManagerBackend.list_certificates
    )
    AWSCertificateManagerBackend._standin_key_types = True
