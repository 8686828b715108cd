"""The Account API's alternate contacts as AWS answers them. moto 5.2.5 has Put/Get/
DeleteAlternateContact; GetAlternateContact of a type never set answers
`ResourceNotFoundException` ("No contact of the inputted alternate contact type found."), with
HTTP 400 where botocore's model of the error says 404 (docs/aws-behaviour.md, "Doctor's reads").
"""

from moto.account.exceptions import UnspecifiedContactType


def install():
    UnspecifiedContactType.code = 404  # model: Account ResourceNotFoundException, httpStatusCode 404
