"""Administration of the private S3 server (scripts/s3-server.sh), with boto3
from its virtualenv: the test harness's independent view of the bucket.

    s3-admin.py setup                     users, keys, buckets; then authentication on
    s3-admin.py env [USER]                export lines for USER (default writer)
    s3-admin.py uploads BUCKET [PREFIX]   unfinished multipart uploads, one key a line
    s3-admin.py keys BUCKET [PREFIX]      objects, one "key size etag" a line
    s3-admin.py tamper BUCKET KEY         flip one byte in the middle of an object
    s3-admin.py mkbucket BUCKET           create a bucket (exists = ok)
    s3-admin.py rmprefix BUCKET PREFIX    delete every object and unfinished upload under PREFIX

Reads S3_ENDPOINT and S3_USERS (the users file) from the environment.
"""

import json
import os
import sys
import urllib.request

import boto3

ENDPOINT = os.environ["S3_ENDPOINT"]
USERS = os.environ["S3_USERS"]
REGION = "us-east-1"
BUCKETS = ["sluice-test", "sluice-bench"]
POLICIES = {
    "writer": ["s3:*"],
    "reader": ["s3:ListBucket", "s3:GetObject", "s3:ListBucketMultipartUploads"],
}


def client(service, user="writer", keys=None):
    if keys is None:
        keys = json.load(open(USERS))[user]
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id=keys["id"],
        aws_secret_access_key=keys["secret"],
    )


def setup():
    # Authentication is off until the end of this function.
    bootstrap = {"id": "AKIAIOSFODNN7SETUP00", "secret": "setup"}
    iam = client("iam", keys=bootstrap)
    users = {}
    for name, actions in POLICIES.items():
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-s3", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        users[name] = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    with open(USERS, "w") as f:
        json.dump(users, f)
    s3 = client("s3", keys=bootstrap)
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket)
    request = urllib.request.Request(
        f"{ENDPOINT}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request).read()


def env(user="writer"):
    keys = json.load(open(USERS))[user]
    print(f"export AWS_ENDPOINT_URL={ENDPOINT}")
    print(f"export AWS_REGION={REGION}")
    print(f"export AWS_ACCESS_KEY_ID={keys['id']}")
    print(f"export AWS_SECRET_ACCESS_KEY={keys['secret']}")


def uploads(bucket, prefix=""):
    answer = client("s3").list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    for upload in answer.get("Uploads", []):
        print(upload["Key"])


def keys(bucket, prefix=""):
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Contents", []):
            print(item["Key"], item["Size"], item["ETag"].strip('"'))


def tamper(bucket, key):
    s3 = client("s3")
    body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 0x01
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))


def rmprefix(bucket, prefix):
    s3 = client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        batch = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if batch:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch})
    for upload in s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])


def mkbucket(bucket):
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["help"]
    commands = {"setup": setup, "env": env, "uploads": uploads, "keys": keys, "tamper": tamper, "mkbucket": mkbucket,
                "rmprefix": rmprefix}
    if command not in commands:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    commands[command](*args)
