"""Route 53 as AWS behaves, where moto 5.2.5 differs (see ../shared/EMULATOR.md).

Patched in-process before the server starts, so the Rust SDK sees what AWS would show:
- Names are stored as AWS stores them: a record's Name lowercased (AWS "stores alphabetic
  characters as lowercase letters", DomainNameFormat in the Route 53 developer guide), and an
  alias target's DNSName lowercased with a trailing dot (what ListResourceRecordSets returns for
  `Dualstack.My-ALB-1.us-east-1.ELB.amazonaws.com`; moto kept it as written). Record *values*
  (ResourceRecords) are returned as written, case kept, as AWS does.
- ChangeResourceRecordSets refuses, with InvalidChangeBatch and AWS's message texts, what AWS
  refuses: a CNAME beside any other record set of the same name (either way round), a CNAME at
  the zone apex, and mixing record sets with and without SetIdentifier under one name and type.
  The batch is judged as a whole, as AWS does: deleting the CNAME and creating the A record in
  one batch is allowed. UPSERT of the same name/type/SetIdentifier stays allowed.
- An alias whose type its target cannot have is refused, as AWS refuses an alias target it does
  not find with the record's type: an alias to a load balancer or a CloudFront distribution is A
  or AAAA, to an Elastic Beanstalk environment, an S3 website endpoint, an API Gateway API, a VPC
  interface endpoint or a Global Accelerator accelerator A (botocore model Route53
  ResourceRecordSet, member Type; AWS's knowledge center "How do I create alias records for
  services hosted in AWS?"), told by the target's DNS name; an alias to another record of the
  zone needs a record set of its own type there (judged on the zone before the batch). The
  message is AWS's for an alias target not found ("Tried to create an alias that targets N.,
  type T in zone Z, but that target was not found"); that AWS gives it for a wrong type is an
  assumption (docs/aws-behaviour.md, Route 53).
- CREATE of a record set that exists is refused ("Tried to create resource record set [...] but
  it already exists"), and one deleted earlier can be created again: moto refused that whenever
  any record set sorted after it.
- With realistic delays (delays.py), a change propagates as on AWS: ChangeResourceRecordSets
  answers ChangeInfo Status PENDING with an Id of its own (and the batch's Comment), and GetChange
  of that Id answers PENDING until the propagation delay has passed, then INSYNC, with the
  SubmittedAt of the change. The records are changed at once (ListResourceRecordSets shows the
  new value right away, as on AWS: only propagation is pending). With instant delays (the
  default) moto's answer is kept: INSYNC at once. GetChange of an Id the emulator did not hand
  out (e.g. CreateHostedZone's) answers INSYNC, as moto does.
"""

import secrets
import string
import time

import delays
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.route53.exceptions import Route53ClientError
from moto.route53.models import Route53Backend
from moto.route53.responses import Route53

CHANGE_ID_CHARACTERS = string.ascii_uppercase + string.digits


def _fqdn(name):
    return name.lower().rstrip(".") + "."


def invalid_change_batch(messages):
    """AWS answers every violation of a batch at once, as one bracketed, comma-separated
    message in a standard ErrorResponse (aws-sdk-kotlin#1435 shows the current format).
    moto finds an error's service by its class's module, so the class is moto's own."""
    return Route53ClientError("InvalidChangeBatch", "[" + ", ".join(messages) + "]")


def _normalize(change_list):
    """Lowercases names in place, before moto stores or matches them, so that DELETE and UPSERT
    find a record whatever case they were written in, as on AWS."""
    for change in change_list:
        rrset = change.get("ResourceRecordSet") or {}
        if rrset.get("Name"):
            rrset["Name"] = rrset["Name"].lower()
        alias = rrset.get("AliasTarget")
        if alias and alias.get("DNSName"):
            alias["DNSName"] = _fqdn(alias["DNSName"])


def _conflicts(zone, change_list):
    """The messages AWS would give for this batch, judged on the zone as it would be after it."""
    key = lambda rs: (_fqdn(rs.get("Name", "")), rs.get("Type"), rs.get("SetIdentifier"))  # noqa: E731
    after = {(_fqdn(r.name), r.type, r.set_identifier) for r in zone.rrsets}
    messages = []
    for change in change_list:
        rrset = change["ResourceRecordSet"]
        if change.get("Action") == "DELETE":
            after.discard(key(rrset))
            continue
        if change.get("Action") == "CREATE" and key(rrset) in after:
            name, rtype, set_id = key(rrset)
            which = f"name='{name}', type='{rtype}'" + (f", set-identifier='{set_id}'" if set_id is not None else "")
            messages.append(f"Tried to create resource record set [{which}] but it already exists")
        after.add(key(rrset))  # CREATE and UPSERT both leave exactly this record set
    apex = _fqdn(zone.name)
    for change in change_list:
        if change.get("Action") == "DELETE":
            continue
        name, rtype, set_id = key(change["ResourceRecordSet"])
        same_name = [(t, s) for n, t, s in after if n == name]
        if rtype == "CNAME" and name == apex:
            messages.append(f"RRSet of type CNAME with DNS name {name} is not permitted at apex in zone {apex}")
        elif rtype == "CNAME" and any(t != "CNAME" for t, _ in same_name):
            messages.append(
                f"RRSet of type CNAME with DNS name {name} is not permitted as it conflicts with other "
                f"records with the same DNS name in zone {apex}"
            )
        elif rtype != "CNAME" and any(t == "CNAME" for t, _ in same_name):
            messages.append(
                f"RRSet of type {rtype} with DNS name {name} is not permitted because a conflicting RRSet "
                f"of type CNAME with the same DNS name already exists in zone {apex}"
            )
        elif set_id is not None and (rtype, None) in same_name:
            messages.append(
                f"RRSet with DNS name {name}, type {rtype}, SetIdentifier {set_id} cannot be created as "
                "a non-weighted set exists with the same name and type."
            )
        elif set_id is None and any(t == rtype and s is not None for t, s in same_name):
            messages.append(
                f"RRSet with DNS name {name}, type {rtype} cannot be created as other RRSets exist with "
                "the same name and type."
            )
    return messages


# The types an alias to an AWS resource may have, by what its DNS name ends with (see above).
ALIAS_TYPES = [
    (lambda labels, name: "elb" in labels and ".amazonaws.com" in name, ("A", "AAAA")),
    (lambda labels, name: name.endswith((".elasticbeanstalk.com.", ".elasticbeanstalk.com.cn.")), ("A",)),
    (lambda labels, name: name.endswith(".cloudfront.net."), ("A", "AAAA")),
    (lambda labels, name: any(l.startswith("s3-website") for l in labels) and ".amazonaws.com" in name, ("A",)),
    (lambda labels, name: "execute-api" in labels and ".amazonaws.com" in name, ("A",)),
    (lambda labels, name: "vpce" in labels and ".amazonaws.com" in name, ("A",)),
    (lambda labels, name: name.endswith(".awsglobalaccelerator.com."), ("A",)),
]


def _alias_type_errors(zone, change_list):
    """AWS's messages for the batch's aliases whose target cannot have the record's type."""
    messages = []
    for change in change_list:
        rrset = change["ResourceRecordSet"]
        alias = rrset.get("AliasTarget")
        if change.get("Action") == "DELETE" or not alias:
            continue
        target, rtype = _fqdn(alias.get("DNSName", "")), rrset.get("Type")
        target_zone = (alias.get("HostedZoneId") or "").rsplit("/", 1)[-1]
        types = next((t for test, t in ALIAS_TYPES if test(target.split("."), target)), None)
        if types is None and target_zone == zone.resource_id:
            types = {r.type for r in zone.rrsets if _fqdn(r.name) == target}
        if types is not None and rtype not in types:
            messages.append(
                f"Tried to create an alias that targets {target}, type {rtype} in zone {target_zone}, "
                "but that target was not found"
            )
    return messages


def _change_resource_record_sets(original):
    def change_resource_record_sets(self, zoneid, change_list):
        _normalize(change_list)
        zone = self.get_hosted_zone(zoneid)
        messages = _conflicts(zone, change_list) + _alias_type_errors(zone, change_list)
        if messages:
            raise invalid_change_batch(messages)
        # moto's own "already exists" check consults its change journal and refuses to create
        # again a record set deleted earlier; the check above replaces it, and an UPSERT of a
        # record set that does not exist is what a CREATE is.
        for change in change_list:
            if change.get("Action") == "CREATE":
                change["Action"] = "UPSERT"
        return original(self, zoneid, change_list)

    return change_resource_record_sets


def _changes(backend):
    """The changes handed out, by bare Id (kept on the backend, so a moto reset forgets them)."""
    if not hasattr(backend, "_standin_changes"):
        backend._standin_changes = {}
    return backend._standin_changes


def _change_info(change_id, change):
    info = {
        "Id": f"/change/{change_id}",
        "Status": "INSYNC" if time.monotonic() >= change["insync_at"] else "PENDING",
        "SubmittedAt": change["submitted_at"],
    }
    if change["comment"]:
        info["Comment"] = change["comment"]
    return info


def _respond_change(original):
    def change_resource_record_sets(self):
        result = original(self)
        if delays.mode() == "instant":
            return result
        change_id = "C" + "".join(secrets.choice(CHANGE_ID_CHARACTERS) for _ in range(20))
        change = {
            "submitted_at": utcnow(),
            "insync_at": time.monotonic() + delays.seconds("route53.change"),
            "comment": self._get_param("ChangeBatch.Comment"),
        }
        _changes(self.backend)[change_id] = change
        result.result["ChangeInfo"] = _change_info(change_id, change)
        return result

    return change_resource_record_sets


def _respond_get_change(original):
    def get_change(self):
        change_id = (self._get_param("Id") or "").rsplit("/", 1)[-1]
        change = _changes(self.backend).get(change_id)
        if change is None:
            return original(self)
        return ActionResult({"ChangeInfo": _change_info(change_id, change)})

    return get_change


def install():
    """Applies every patch; idempotent."""
    if getattr(Route53Backend, "_standin_extended", False):
        return
    Route53Backend.change_resource_record_sets = _change_resource_record_sets(Route53Backend.change_resource_record_sets)
    Route53.change_resource_record_sets = _respond_change(Route53.change_resource_record_sets)
    Route53.get_change = _respond_get_change(Route53.get_change)
    Route53Backend._standin_extended = True
