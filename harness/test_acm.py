"""Self-test of moto_acm.py: ListCertificates lists only RSA_1024 and RSA_2048 certificates
unless `Includes.keyTypes` asks for others, and each imported certificate reports its key
algorithm as ACM names it.

    harness/.venv/bin/python harness/test_acm.py
"""

import os
import sys
import unittest

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from certs import KEYS, self_signed  # noqa: E402
from selftest import start_emulator  # noqa: E402

ALL = list(KEYS)


class ListCertificates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator, ready = start_emulator("none")
        cls.acm = boto3.client("acm", endpoint_url=ready[1], region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        # One certificate of each key algorithm ACM imports, named after it.
        cls.arns = {}
        for algorithm in ALL:
            cert, key = self_signed([f"{algorithm.lower().replace('_', '-')}.example.com"], algorithm)
            cls.arns[algorithm] = cls.acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.emulator.stdout.close()

    def listed(self, **kwargs):
        out = self.acm.list_certificates(**kwargs)["CertificateSummaryList"]
        return {c["CertificateArn"]: c for c in out}

    def test_each_import_reports_its_key_algorithm_as_acm_names_it(self):
        for algorithm, arn in self.arns.items():
            with self.subTest(algorithm):
                described = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
                self.assertEqual(described["KeyAlgorithm"], algorithm)

    def test_without_key_types_only_rsa_1024_and_2048(self):
        expected = {self.arns["RSA_1024"], self.arns["RSA_2048"]}
        self.assertEqual(set(self.listed()), expected)
        self.assertEqual(set(self.listed(CertificateStatuses=["ISSUED"])), expected)
        # Includes without keyTypes: the default key types still apply.
        self.assertEqual(set(self.listed(Includes={"extendedKeyUsage": ["ANY"]})), expected)

    def test_key_types_asked_for_are_listed_with_their_algorithm(self):
        ec = ["EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
        listed = self.listed(Includes={"keyTypes": ec})
        self.assertEqual(set(listed), {self.arns[a] for a in ec})
        self.assertEqual({c["KeyAlgorithm"] for c in listed.values()}, set(ec))
        self.assertEqual(set(self.listed(Includes={"keyTypes": ALL})), set(self.arns.values()))
        self.assertEqual(set(self.listed(Includes={"keyTypes": ["RSA_4096"]})), {self.arns["RSA_4096"]})


if __name__ == "__main__":
    unittest.main(verbosity=2)
