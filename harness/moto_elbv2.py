"""A listener's certificates as AWS keeps them, where moto 5.2.5 differs.

An HTTPS listener has a default certificate (CreateListener / ModifyListener) and a certificate
list (AddListenerCertificates / RemoveListenerCertificates); DescribeListenerCertificates shows
the default (`IsDefault` true) and then the list, so a default that is also in the list appears
twice (AWS's DescribeListenerCertificates reference says so). moto keeps one list whose first
entry is the default; this keeps that shape and makes the calls behave as AWS's:

- RemoveListenerCertificates refuses the default certificate with `OperationNotPermitted`
  "Default certificate cannot be removed" ("You can't remove the default certificate for a
  listener", its API reference; the message is the one AWS users report), and a certificate not
  on the listener with `CertificateNotFound`; nothing is removed then. moto removed either
  silently (removing the default made the next certificate the default).
- AddListenerCertificates adds a certificate already in the list only once, and refuses an ARN
  that is neither in ACM nor IAM with `CertificateNotFound`. moto listed duplicates and
  accepted any ARN.
- ModifyListener with `Certificates` replaces the default certificate only; the list stays.
  moto replaced the whole list with the new default.
"""

from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend


def _certs(arns):
    return [c["CertificateArn"] for c in arns or []]


def _listener(backend, arn):
    return backend.describe_listeners(load_balancer_arn=None, listener_arns=[arn])[0]


def _add_listener_certificates(original):
    def add_listener_certificates(self, arn, certificates):
        listener = _listener(self, arn)
        for cert in _certs(certificates):
            if not self._certificate_exists(certificate_arn=cert):
                raise ELBClientError("CertificateNotFound", f"Certificate '{cert}' not found")
        new = [c for c in dict.fromkeys(_certs(certificates)) if c not in listener.certificates[1:]]
        return original(self, arn, [{"CertificateArn": c} for c in new])

    return add_listener_certificates


def _remove_listener_certificates(original):
    def remove_listener_certificates(self, arn, certificates):
        listener = _listener(self, arn)
        for cert in _certs(certificates):
            if listener.certificates[:1] == [cert]:
                raise ELBClientError("OperationNotPermitted", "Default certificate cannot be removed")
            if cert not in listener.certificates[1:]:
                raise ELBClientError("CertificateNotFound", f"Certificate '{cert}' not found")
        listener.certificates = listener.certificates[:1] + [
            c for c in listener.certificates[1:] if c not in _certs(certificates)
        ]

    return remove_listener_certificates


def _modify_listener(original):
    def modify_listener(self, arn, *args, **kwargs):
        listed = list(_listener(self, arn).certificates[1:])
        listener = original(self, arn, *args, **kwargs)
        if listener.certificates[:1] and listener.certificates[1:] != listed:
            listener.certificates = listener.certificates[:1] + listed
        return listener

    return modify_listener


def install():
    """Applies every patch; idempotent."""
    if getattr(ELBv2Backend, "_standin_certificates", False):
        return
    ELBv2Backend.add_listener_certificates = _add_listener_certificates(ELBv2Backend.add_listener_certificates)
    ELBv2Backend.remove_listener_certificates = _remove_listener_certificates(
        ELBv2Backend.remove_listener_certificates
    )
    ELBv2Backend.modify_listener = _modify_listener(ELBv2Backend.modify_listener)
    ELBv2Backend._standin_certificates = True
