"""Self-test of moto_iam_simulate.py: IAM SimulatePrincipalPolicy against the emulator.

    harness/.venv/bin/python harness/test_iam_simulate.py

Starts the emulator (unseeded), creates users, a group and a role through its IAM API with the
default `testing` key, and simulates their policies with boto3, asserting on the decisions.
"""

import json
import os
import subprocess
import sys
import unittest
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=20)
ACCOUNT = "123456789012"
SHOP = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/shop/prod/DB_HOST"
OTHER = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/billing/DB_HOST"
DEPLOYER = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadShop", "Effect": "Allow", "Action": "ssm:GetParameter*",
         "Resource": "arn:aws:ssm:*:*:parameter/shop/*"},
        {"Sid": "Dns", "Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"], "Resource": "*"},
        {"Sid": "NoDelete", "Effect": "Deny", "Action": "ssm:DeleteParameter", "Resource": "*"},
        {"Sid": "AllSsm", "Effect": "Allow", "Action": "ssm:*", "Resource": "arn:aws:ssm:*:*:parameter/shop/prod/*"},
    ],
}
IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"


class IamSimulate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "emulator.py"), "serve", "--port", "0", "--seed", "none"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.emulator.stdout.readline().split()
        assert line and line[0] == "READY", f"emulator did not start: {line}"
        cls.endpoint = line[1]
        cls.iam = boto3.client("iam", endpoint_url=cls.endpoint, region_name="us-east-1", config=NO_RETRY,
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        cls.text = json.dumps(DEPLOYER, indent=4)
        cls.deployer = cls.iam.create_user(UserName="deployer")["User"]["Arn"]
        cls.iam.put_user_policy(UserName="deployer", PolicyName="deploy", PolicyDocument=cls.text)

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.emulator.stdout.close()

    def simulate(self, arn, actions, resources=None, **extra):
        kwargs = {"PolicySourceArn": arn, "ActionNames": actions, **extra}
        if resources is not None:
            kwargs["ResourceArns"] = resources
        return self.iam.simulate_principal_policy(**kwargs)

    def decisions(self, arn, actions, resources=None):
        return [r["EvalDecision"] for r in self.simulate(arn, actions, resources)["EvaluationResults"]]

    def test_allowed_implicit_and_explicit_deny(self):
        out = self.simulate(self.deployer, ["ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter",
                                            "ssm:DeleteParameter"], [SHOP.replace("/prod/", "/staging/")])
        self.assertFalse(out["IsTruncated"])
        results = out["EvaluationResults"]
        self.assertEqual([r["EvalActionName"] for r in results],
                         ["ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter", "ssm:DeleteParameter"])
        self.assertEqual([r["EvalDecision"] for r in results], ["allowed", "allowed", "implicitDeny", "explicitDeny"])
        for r in results:
            self.assertEqual(r["EvalResourceName"], SHOP.replace("/prod/", "/staging/"))
            self.assertEqual(r["MissingContextValues"], [])
            self.assertEqual(len(r["ResourceSpecificResults"]), 1)
            self.assertEqual(r["ResourceSpecificResults"][0]["EvalResourceDecision"], r["EvalDecision"])
        self.assertEqual(results[2]["MatchedStatements"], [])
        self.assertEqual([(s["SourcePolicyId"], s["SourcePolicyType"]) for s in results[3]["MatchedStatements"]],
                         [("deploy", "user")])
        # Outside /shop/: nothing allows it.
        self.assertEqual(self.decisions(self.deployer, ["ssm:GetParameter"], [OTHER]), ["implicitDeny"])
        # Actions match case-insensitively, as on AWS.
        self.assertEqual(self.decisions(self.deployer, ["SSM:getparameter"], [SHOP]), ["allowed"])

    def test_explicit_deny_wins_over_an_allow(self):
        # AllSsm allows ssm:* on /shop/prod/*, NoDelete denies DeleteParameter everywhere.
        result = self.simulate(self.deployer, ["ssm:DeleteParameter", "ssm:PutParameter"], [SHOP])["EvaluationResults"]
        self.assertEqual([r["EvalDecision"] for r in result], ["explicitDeny", "allowed"])
        self.assertEqual(len(result[0]["MatchedStatements"]), 1)  # only the Deny, as AWS reports it

    def test_without_resource_arns_the_resource_is_star(self):
        result = self.simulate(self.deployer, ["route53:ChangeResourceRecordSets", "ssm:GetParameter",
                                               "ssm:DeleteParameter"])["EvaluationResults"]
        self.assertEqual([r["EvalDecision"] for r in result], ["allowed", "implicitDeny", "explicitDeny"])
        for r in result:
            self.assertEqual(r["EvalResourceName"], "*")
            self.assertNotIn("ResourceSpecificResults", r)

    def test_several_resources_give_one_result_per_action(self):
        result = self.simulate(self.deployer, ["ssm:GetParameter", "ssm:DeleteParameter"],
                               [SHOP, OTHER])["EvaluationResults"]
        self.assertEqual(len(result), 2)
        get, delete = result
        self.assertEqual([(r["EvalResourceName"], r["EvalResourceDecision"]) for r in get["ResourceSpecificResults"]],
                         [(SHOP, "allowed"), (OTHER, "implicitDeny")])
        self.assertEqual(get["EvalDecision"], "implicitDeny")  # the most restrictive
        self.assertEqual(get["MatchedStatements"], [])
        self.assertEqual(len(get["ResourceSpecificResults"][0]["MatchedStatements"]), 2)  # ReadShop, AllSsm
        self.assertEqual([r["EvalResourceDecision"] for r in delete["ResourceSpecificResults"]],
                         ["explicitDeny", "explicitDeny"])
        self.assertEqual(delete["EvalDecision"], "explicitDeny")

    def test_matched_statement_positions_point_at_the_statement(self):
        result = self.simulate(self.deployer, ["ssm:DeleteParameter"], [SHOP])["EvaluationResults"][0]
        statement = result["MatchedStatements"][0]
        lines = self.text.split("\n")
        start, end = statement["StartPosition"], statement["EndPosition"]
        self.assertEqual(lines[start["Line"] - 1][start["Column"] - 1], "{")
        self.assertEqual(lines[end["Line"] - 1][end["Column"] - 2], "}")
        self.assertIn('"Sid": "NoDelete"', "\n".join(lines[start["Line"] - 1:end["Line"]]))

    def test_a_role_with_an_attached_managed_policy(self):
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = self.iam.create_role(RoleName="promoter", Path="/ops/",
                                    AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        managed = self.iam.create_policy(PolicyName="promote", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "elasticbeanstalk:*",
                          "Resource": "arn:aws:elasticbeanstalk:*:*:environment/shop/*"}}))["Policy"]["Arn"]
        self.iam.attach_role_policy(RoleName="promoter", PolicyArn=managed)
        env = f"arn:aws:elasticbeanstalk:us-east-1:{ACCOUNT}:environment/shop/shop-prod"
        result = self.simulate(role, ["elasticbeanstalk:SwapEnvironmentCNAMEs", "iam:CreateUser"],
                               [env])["EvaluationResults"]
        self.assertEqual([r["EvalDecision"] for r in result], ["allowed", "implicitDeny"])
        self.assertEqual([(s["SourcePolicyId"], s["SourcePolicyType"]) for s in result[0]["MatchedStatements"]],
                         [("promote", "user-managed")])
        self.assertEqual(self.decisions(role, ["elasticbeanstalk:UpdateEnvironment"],
                                        [env.replace("/shop/", "/other/")]), ["implicitDeny"])
        # The user's policies are not the role's.
        self.assertEqual(self.decisions(role, ["ssm:GetParameter"], [SHOP]), ["implicitDeny"])

    def test_an_entity_is_named_with_its_path(self):
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
        name = "AWSReservedSSO_Operator_0123456789abcdef"
        role = self.iam.create_role(RoleName=name, Path="/aws-reserved/sso.amazonaws.com/",
                                    AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.assertEqual(role, f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{name}")
        self.iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}]}))
        self.assertEqual(self.decisions(role, ["ssm:GetParameter"]), ["allowed"])
        for wrong in [f"arn:aws:iam::{ACCOUNT}:role/{name}", f"arn:aws:iam::{ACCOUNT}:role/other/{name}"]:
            with self.assertRaises(ClientError) as caught:
                self.simulate(wrong, ["ssm:GetParameter"])
            self.assertEqual(caught.exception.response["Error"]["Code"], "NoSuchEntity")
            self.assertEqual(caught.exception.response["Error"]["Message"], f"The role with name {name} cannot be found.")
        self.iam.create_user(UserName="pathed", Path="/team/")
        with self.assertRaises(ClientError):
            self.simulate(f"arn:aws:iam::{ACCOUNT}:user/pathed", ["ssm:GetParameter"])
        self.assertEqual(self.decisions(f"arn:aws:iam::{ACCOUNT}:user/team/pathed", ["ssm:GetParameter"]),
                         ["implicitDeny"])

    def test_group_policies_count_for_a_user(self):
        self.iam.create_user(UserName="oncall")
        self.iam.create_group(GroupName="operators")
        self.iam.put_group_policy(GroupName="operators", PolicyName="ops", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}))
        arn = f"arn:aws:iam::{ACCOUNT}:user/oncall"
        self.assertEqual(self.decisions(arn, ["ssm:PutParameter", "iam:CreateUser"]), ["implicitDeny", "implicitDeny"])
        self.iam.add_user_to_group(GroupName="operators", UserName="oncall")
        result = self.simulate(arn, ["ssm:PutParameter", "iam:CreateUser"])["EvaluationResults"]
        self.assertEqual([r["EvalDecision"] for r in result], ["allowed", "implicitDeny"])
        self.assertEqual(result[0]["MatchedStatements"][0]["SourcePolicyType"], "group")

    def test_unknown_principals_and_bad_input(self):
        for arn, message in [
            (f"arn:aws:iam::{ACCOUNT}:user/nobody", "The user with name nobody cannot be found."),
            (f"arn:aws:iam::{ACCOUNT}:role/norole", "The role with name norole cannot be found."),
        ]:
            with self.assertRaises(ClientError) as caught:
                self.simulate(arn, ["ssm:GetParameter"])
            self.assertEqual(caught.exception.response["Error"]["Code"], "NoSuchEntity")
            self.assertEqual(caught.exception.response["Error"]["Message"], message)
            self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
            self.assertEqual(type(caught.exception).__name__, "NoSuchEntityException")
        with self.assertRaises(ClientError) as caught:
            self.simulate(f"arn:aws:s3:::{ACCOUNT}-bucket", ["ssm:GetParameter"])
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidInput")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_missing_policy_source_arn_is_refused(self):
        status, body = self.raw({"ActionNames.member.1": "ssm:GetParameter"})
        self.assertEqual(status, 400)
        error = ET.fromstring(body).find(f"{IAM_NS}Error")
        self.assertEqual(error.find(f"{IAM_NS}Code").text, "ValidationError")
        self.assertIn("'policySourceArn'", error.find(f"{IAM_NS}Message").text)

    def test_pagination(self):
        actions = ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"]
        first = self.simulate(self.deployer, actions, [SHOP], MaxItems=2)
        self.assertTrue(first["IsTruncated"])
        self.assertEqual([r["EvalActionName"] for r in first["EvaluationResults"]], actions[:2])
        rest = self.simulate(self.deployer, actions, [SHOP], MaxItems=2, Marker=first["Marker"])
        self.assertFalse(rest["IsTruncated"])
        self.assertEqual([r["EvalActionName"] for r in rest["EvaluationResults"]], actions[2:])
        pages = self.iam.get_paginator("simulate_principal_policy").paginate(
            PolicySourceArn=self.deployer, ActionNames=actions, ResourceArns=[SHOP], PaginationConfig={"PageSize": 1})
        self.assertEqual([r["EvalDecision"] for page in pages for r in page["EvaluationResults"]],
                         ["allowed", "allowed", "explicitDeny"])

    def test_the_xml_is_shaped_as_aws_sends_it(self):
        status, body = self.raw({"PolicySourceArn": self.deployer, "ActionNames.member.1": "ssm:DeleteParameter",
                                 "ResourceArns.member.1": SHOP})
        self.assertEqual(status, 200)
        root = ET.fromstring(body)
        self.assertEqual(root.tag, f"{IAM_NS}SimulatePrincipalPolicyResponse")
        result = root.find(f"{IAM_NS}SimulatePrincipalPolicyResult")
        self.assertEqual(result.find(f"{IAM_NS}IsTruncated").text, "false")
        member = result.find(f"{IAM_NS}EvaluationResults/{IAM_NS}member")
        self.assertEqual(member.find(f"{IAM_NS}EvalDecision").text, "explicitDeny")
        self.assertEqual(member.find(f"{IAM_NS}EvalResourceName").text, SHOP)
        self.assertEqual(list(member.find(f"{IAM_NS}MissingContextValues")), [])
        specific = member.find(f"{IAM_NS}ResourceSpecificResults/{IAM_NS}member")
        self.assertEqual(specific.find(f"{IAM_NS}EvalResourceDecision").text, "explicitDeny")
        self.assertTrue(root.find(f"{IAM_NS}ResponseMetadata/{IAM_NS}RequestId").text)
        print("\n  " + body)

    def raw(self, params):
        """POSTs SimulatePrincipalPolicy as a query-protocol form; (status, body)."""
        data = urllib.parse.urlencode({"Action": "SimulatePrincipalPolicy", "Version": "2010-05-08", **params})
        request = urllib.request.Request(self.endpoint + "/", data=data.encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/iam/aws4_request, "
                             "SignedHeaders=host, Signature=0"})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


if __name__ == "__main__":
    unittest.main(verbosity=2)
