"""The `aws` provider, through boto3: an EC2 instance sized by plan, a Route53 A record, an SES domain identity
(with its verification TXT record), and the app config in SSM Parameter Store.

Settings (docs/settings.md, `aws`): SUPAKIT_AWS_HOSTED_ZONE_ID (required: the zone customers' subdomains live in),
SUPAKIT_AWS_AMI_ID (default: the newest Amazon Linux 2023 image Amazon owns in the region),
SUPAKIT_AWS_SUBNET_ID, SUPAKIT_AWS_SECURITY_GROUP_IDS (comma-separated; optional), SUPAKIT_AWS_REGION (default:
boto3's own, else us-east-1). Credentials come from boto3's standard chain (AWS_ACCESS_KEY_ID, profiles, roles)
and are never read or logged here; AWS_ENDPOINT_URL points boto3 at an emulator.

Idempotency: the instance is launched with the step's key as EC2's ClientToken and as tag `supakit:key`, and a
re-run first looks the instance up by that tag; Route53 changes are UPSERTs; SES identities and SSM parameters are
keyed by name.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from functions_py import config
from functions_py.config import Settings
from functions_py.errors import ConfigError
from functions_py.provisioning.provider import (
    PROVIDERS,
    Customer,
    PermanentStepError,
    Provider,
    RetryableStepError,
    StepContext,
    instance_type_for,
)

AMI_NAME_PATTERN = "al2023-ami-2023*-x86_64"
LIVE_STATES = ["pending", "running", "stopping", "stopped"]
RECORD_TTL = 300
# Error codes worth another attempt later; everything else from AWS is a request that cannot succeed as it is.
RETRYABLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestThrottled", "ServiceUnavailable",
    "InternalError", "InternalFailure", "InsufficientInstanceCapacity", "PriorRequestNotComplete",
    "Unavailable", "RequestTimeout", "RequestTimeoutException",
})


def _step_error(error: Exception, doing: str) -> PermanentStepError | RetryableStepError:
    """The step error an AWS failure stands for."""
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        text = f"AWS refused to {doing}: {code}: {message}"
        if code in RETRYABLE_CODES or status >= 500:
            return RetryableStepError(f"{text}; the step will be retried.")
        return PermanentStepError(f"{text}; fix the AWS settings or account, then retry the run.")
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return PermanentStepError("no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a "
                                  "profile in the worker's environment.")
    return RetryableStepError(f"could not reach AWS to {doing} ({type(error).__name__}); the step will be retried.")


class AWSProvider(Provider):
    name = "aws"

    def __init__(self, *, hosted_zone_id: str, region: str | None = None, ami_id: str | None = None,
                 subnet_id: str | None = None, security_group_ids: list[str] | None = None,
                 session: boto3.session.Session | None = None) -> None:
        self.session = session or boto3.session.Session(region_name=region)
        if not self.session.region_name:
            self.session = boto3.session.Session(region_name="us-east-1")
        config = Config(retries={"mode": "standard", "max_attempts": 3})
        self.ec2 = self.session.client("ec2", config=config)
        self.route53 = self.session.client("route53", config=config)
        self.ses = self.session.client("ses", config=config)
        self.ssm = self.session.client("ssm", config=config)
        self.hosted_zone_id = hosted_zone_id
        self.ami_id = ami_id
        self.subnet_id = subnet_id
        self.security_group_ids = security_group_ids or []
        self._zone_name: str | None = None

    @classmethod
    def from_env(cls) -> AWSProvider:
        """from_settings with the process's settings (functions_py.config.current())."""
        return cls.from_settings(config.current())

    @classmethod
    def from_settings(cls, settings: Settings) -> AWSProvider:
        aws = settings.aws
        zone = aws.hosted_zone_id or ""
        if not zone:
            raise ConfigError("SUPAKIT_AWS_HOSTED_ZONE_ID is not set; the aws provider needs the Route53 hosted "
                              "zone customers' subdomains go in (e.g. Z0123456789ABC).")
        return cls(hosted_zone_id=zone, region=aws.region, ami_id=aws.ami_id, subnet_id=aws.subnet_id,
                   security_group_ids=list(aws.security_group_ids))

    # -- names -----------------------------------------------------------------------------------------------

    @property
    def zone_name(self) -> str:
        if self._zone_name is None:
            try:
                zone = self.route53.get_hosted_zone(Id=self.hosted_zone_id)["HostedZone"]
            except Exception as error:  # noqa: BLE001 - classified below
                raise _step_error(error, f"read hosted zone {self.hosted_zone_id}") from None
            self._zone_name = zone["Name"].rstrip(".")
        return self._zone_name

    def subdomain_for(self, customer: Customer) -> str:
        return f"{customer.slug}.{self.zone_name}"

    def _tags(self, ctx: StepContext) -> list[dict[str, str]]:
        return [{"Key": "supakit:key", "Value": ctx.key},
                {"Key": "supakit:organization", "Value": str(ctx.customer.organization_id)},
                {"Key": "Name", "Value": f"supakit-{ctx.customer.slug}"}]

    # -- instance --------------------------------------------------------------------------------------------

    def _image(self) -> str:
        if self.ami_id:
            return self.ami_id
        try:
            images = self.ec2.describe_images(
                Owners=["amazon"], Filters=[{"Name": "name", "Values": [AMI_NAME_PATTERN]},
                                            {"Name": "state", "Values": ["available"]}])["Images"]
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, "look up the Amazon Linux image") from None
        if not images:
            raise PermanentStepError("no Amazon Linux 2023 image found in the region; set SUPAKIT_AWS_AMI_ID.")
        return max(images, key=lambda image: image.get("CreationDate", ""))["ImageId"]

    def _instances(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        reservations = self.ec2.describe_instances(
            Filters=[*filters, {"Name": "instance-state-name", "Values": LIVE_STATES}])["Reservations"]
        return [instance for reservation in reservations for instance in reservation["Instances"]]

    def create_instance(self, ctx: StepContext) -> dict[str, Any]:
        return self._launch(ctx, None, instance_type_for(ctx.customer.plan_id))

    def _launch(self, ctx: StepContext, image_id: str | None, instance_type: str) -> dict[str, Any]:
        """One instance for the step `ctx.key` (found by its tag when a first attempt made it), of `image_id`
        (default: the configured or newest Amazon Linux image), running."""
        try:
            found = self._instances([{"Name": "tag:supakit:key", "Values": [ctx.key]}])
            if found:
                instance = found[0]
                ctx.note(f"instance {instance['InstanceId']} already exists for this step (a resumed step)")
            else:
                options: dict[str, Any] = {}
                if self.subnet_id:
                    options["SubnetId"] = self.subnet_id
                if self.security_group_ids:
                    options["SecurityGroupIds"] = self.security_group_ids
                instance = self.ec2.run_instances(
                    ImageId=image_id or self._image(), InstanceType=instance_type, MinCount=1, MaxCount=1,
                    ClientToken=ctx.key[:64], TagSpecifications=[{"ResourceType": "instance",
                                                                   "Tags": self._tags(ctx)}], **options,
                )["Instances"][0]
                ctx.note(f"launched {instance_type} instance {instance['InstanceId']}")
            instance_id = instance["InstanceId"]
            self.ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id],
                                                          WaiterConfig={"Delay": 5, "MaxAttempts": 60})
            instance = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        except (PermanentStepError, RetryableStepError):
            raise
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, "launch the customer's EC2 instance") from None
        return {"instance_id": instance_id, "instance_type": instance["InstanceType"],
                "image_id": instance["ImageId"], "region": self.session.region_name,
                "public_address": instance.get("PublicIpAddress") or instance.get("PrivateIpAddress")}

    def remove_instance(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        self._terminate(ctx, output)
        try:  # a teardown also removes the snapshots resizes left (retire_old keeps the latest one)
            removed = self._delete_images(self._images([
                {"Name": "tag:supakit:organization", "Values": [str(ctx.customer.organization_id)]},
                {"Name": "tag:supakit:purpose", "Values": ["resize-snapshot"]}]))
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, "delete the customer's resize snapshots") from None
        if removed:
            ctx.note(f"deregistered {', '.join(removed)}")

    def _terminate(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        try:
            ids = {i["InstanceId"] for i in self._instances([{"Name": "tag:supakit:key", "Values": [ctx.key]}])}
            if output and output.get("instance_id"):
                ids |= {i["InstanceId"] for i in self._instances(
                    [{"Name": "instance-id", "Values": [output["instance_id"]]}])}
            if ids:
                self.ec2.terminate_instances(InstanceIds=sorted(ids))
                ctx.note(f"terminated {', '.join(sorted(ids))}")
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, "terminate the customer's EC2 instance") from None

    # -- dns -------------------------------------------------------------------------------------------------

    def _change(self, action: str, name: str, kind: str, value: str) -> None:
        self.route53.change_resource_record_sets(HostedZoneId=self.hosted_zone_id, ChangeBatch={
            "Comment": "supakit provisioning",
            "Changes": [{"Action": action, "ResourceRecordSet": {
                "Name": name, "Type": kind, "TTL": RECORD_TTL, "ResourceRecords": [{"Value": value}]}}]})

    def _record(self, name: str, kind: str) -> dict[str, Any] | None:
        answer = self.route53.list_resource_record_sets(HostedZoneId=self.hosted_zone_id, StartRecordName=name,
                                                        StartRecordType=kind, MaxItems="1")
        for record in answer["ResourceRecordSets"]:
            if record["Name"].rstrip(".") == name.rstrip(".") and record["Type"] == kind:
                return record
        return None

    def _delete_record(self, name: str, kind: str) -> bool:
        record = self._record(name, kind)
        if record is None:
            return False
        self.route53.change_resource_record_sets(HostedZoneId=self.hosted_zone_id, ChangeBatch={
            "Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]})
        return True

    def create_dns_record(self, ctx: StepContext) -> dict[str, Any]:
        address = (ctx.outputs.get("instance") or {}).get("public_address")
        if not address:
            raise PermanentStepError("the instance has no address to point the subdomain at; check the subnet "
                                     "(SUPAKIT_AWS_SUBNET_ID) assigns one.")
        name = self.subdomain_for(ctx.customer)
        try:
            self._change("UPSERT", name, "A", address)
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"create the A record {name}") from None
        return {"subdomain": name, "record_type": "A", "address": address, "hosted_zone_id": self.hosted_zone_id}

    def remove_dns_record(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        name = self.subdomain_for(ctx.customer)
        try:
            if self._delete_record(name, "A"):
                ctx.note(f"deleted A record {name}")
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"delete the A record {name}") from None

    # -- mail ------------------------------------------------------------------------------------------------

    def create_mail_identity(self, ctx: StepContext) -> dict[str, Any]:
        domain = self.subdomain_for(ctx.customer)
        try:
            token = self.ses.verify_domain_identity(Domain=domain)["VerificationToken"]
            self._change("UPSERT", f"_amazonses.{domain}", "TXT", f'"{token}"')
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"create the SES identity {domain}") from None
        return {"identity": domain, "from": f"no-reply@{domain}", "verification_record": f"_amazonses.{domain}"}

    def remove_mail_identity(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        domain = self.subdomain_for(ctx.customer)
        try:
            self.ses.delete_identity(Identity=domain)
            self._delete_record(f"_amazonses.{domain}", "TXT")
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"delete the SES identity {domain}") from None

    # -- deploy ----------------------------------------------------------------------------------------------

    def _parameter(self, customer: Customer) -> str:
        return f"/supakit/customers/{customer.organization_id}/app-config"

    def deploy_apps(self, ctx: StepContext) -> dict[str, Any]:
        customer = ctx.customer
        config = {"organization_id": str(customer.organization_id), "name": customer.name, "plan": customer.plan_id,
                  "url": f"https://{self.subdomain_for(customer)}",
                  "instance_id": (ctx.outputs.get("instance") or {}).get("instance_id"),
                  "mail_from": (ctx.outputs.get("mail") or {}).get("from")}
        name = self._parameter(customer)
        try:
            self.ssm.put_parameter(Name=name, Value=json.dumps(config), Type="String", Overwrite=True)
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"publish the app config to {name}") from None
        return {"parameter": name, "url": config["url"]}

    def remove_apps(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        name = self._parameter(ctx.customer)
        try:
            self.ssm.delete_parameter(Name=name)
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
                raise _step_error(error, f"delete {name}") from None
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"delete {name}") from None

    # -- verify ----------------------------------------------------------------------------------------------

    def check_health(self, ctx: StepContext) -> dict[str, Any]:
        instance_id = (ctx.outputs.get("instance") or {}).get("instance_id")
        name = self.subdomain_for(ctx.customer)
        try:
            running = self._instances([{"Name": "instance-id", "Values": [instance_id]}]) if instance_id else []
            record = self._record(name, "A")
            identities = self.ses.list_identities(IdentityType="Domain")["Identities"]
            self.ssm.get_parameter(Name=self._parameter(ctx.customer))
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, "check the customer's resources") from None
        problems = []
        if not running or running[0]["State"]["Name"] != "running":
            problems.append(f"instance {instance_id} is not running")
        if record is None:
            problems.append(f"no A record {name}")
        if name not in identities:
            problems.append(f"no SES identity {name}")
        if problems:
            raise RetryableStepError("; ".join(problems))
        return {"instance_state": "running", "dns": name, "ses_identity": name}


    # -- resize: an AMI of the running instance, a new instance from it, the A record moved -------------------

    def _images(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.ec2.describe_images(Owners=["self"], Filters=filters)["Images"]

    def _delete_images(self, images: list[dict[str, Any]]) -> list[str]:
        gone = []
        for image in images:
            self.ec2.deregister_image(ImageId=image["ImageId"])
            for mapping in image.get("BlockDeviceMappings", []):
                snapshot = (mapping.get("Ebs") or {}).get("SnapshotId")
                if snapshot:
                    try:
                        self.ec2.delete_snapshot(SnapshotId=snapshot)
                    except botocore.exceptions.ClientError as error:
                        if error.response.get("Error", {}).get("Code") != "InvalidSnapshot.NotFound":
                            raise
            gone.append(image["ImageId"])
        return gone

    def snapshot_instance(self, ctx: StepContext) -> dict[str, Any]:
        current = (ctx.outputs.get("current") or {}).get("instance") or {}
        source_id = current.get("instance_id")
        if not source_id:
            raise PermanentStepError("the infrastructure records no instance to snapshot; provision it first.")
        try:
            found = self._images([{"Name": "tag:supakit:key", "Values": [ctx.key]}])
            if found:
                image = found[0]
                ctx.note(f"image {image['ImageId']} already exists for this step (a resumed step)")
            else:
                # NoReboot: the instance keeps serving (the image is crash-consistent, as a power cut would leave it)
                tags = [*self._tags(ctx), {"Key": "supakit:purpose", "Value": "resize-snapshot"}]
                name = f"supakit-{ctx.customer.short_id}-{ctx.key.split(':', 1)[0]}"  # AMI names allow no ':'
                image_id = self.ec2.create_image(
                    InstanceId=source_id, Name=name, NoReboot=True,
                    Description=f"supakit resize snapshot of {source_id}",
                    TagSpecifications=[{"ResourceType": "image", "Tags": tags}])["ImageId"]
                ctx.note(f"image {image_id} of {source_id} created")
                self.ec2.get_waiter("image_available").wait(ImageIds=[image_id],
                                                            WaiterConfig={"Delay": 5, "MaxAttempts": 120})
                image = self.ec2.describe_images(ImageIds=[image_id])["Images"][0]
                # the EBS snapshots behind it carry the same tags (tagged after, which moto supports too)
                snapshot_ids = [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", [])
                                if (m.get("Ebs") or {}).get("SnapshotId")]
                if snapshot_ids:
                    self.ec2.create_tags(Resources=snapshot_ids, Tags=tags)
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"snapshot instance {source_id}") from None
        snapshots = [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", [])
                     if (m.get("Ebs") or {}).get("SnapshotId")]
        return {"image_id": image["ImageId"], "snapshot_ids": snapshots, "source": current}

    def remove_snapshot(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        try:
            images = self._images([{"Name": "tag:supakit:key", "Values": [ctx.key]}])
            if output and output.get("image_id") and not images:
                images = self._images([{"Name": "image-id", "Values": [output["image_id"]]}])
            gone = self._delete_images(images)
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, "delete the resize snapshot") from None
        if gone:
            ctx.note(f"deregistered {', '.join(gone)}")

    def launch_from_snapshot(self, ctx: StepContext) -> dict[str, Any]:
        image_id = (ctx.outputs.get("snapshot") or {}).get("image_id")
        if not image_id:
            raise PermanentStepError("the snapshot step recorded no image; the resize is rolled back.")
        target = (ctx.outputs.get("target") or {}).get("instance_type") or instance_type_for(ctx.customer.plan_id)
        return self._launch(ctx, image_id, target)

    def remove_launched_instance(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        self._terminate(ctx, output)

    def verify_launched_instance(self, ctx: StepContext) -> dict[str, Any]:
        launched = ctx.outputs.get("launch") or {}
        target = (ctx.outputs.get("target") or {}).get("instance_type")
        try:
            statuses = self.ec2.describe_instance_status(InstanceIds=[launched["instance_id"]],
                                                         IncludeAllInstances=True)["InstanceStatuses"]
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, "check the new instance") from None
        state = statuses[0]["InstanceState"]["Name"] if statuses else "missing"
        checks = {"system": (statuses[0].get("SystemStatus") or {}).get("Status") if statuses else None,
                  "instance": (statuses[0].get("InstanceStatus") or {}).get("Status") if statuses else None}
        if state != "running":
            raise RetryableStepError(f"the new instance {launched.get('instance_id')} is {state}, not running")
        if "impaired" in checks.values():
            raise PermanentStepError(f"the new instance {launched.get('instance_id')} fails its status checks")
        if target and launched.get("instance_type") != target:
            raise PermanentStepError(f"the new instance is {launched.get('instance_type')}, not {target}")
        return {"instance_state": state, "status_checks": checks, "instance_type": launched.get("instance_type")}

    def _point(self, ctx: StepContext, instance: dict[str, Any]) -> dict[str, Any]:
        """The A record and the published app config, for `instance`."""
        outputs = {**(ctx.outputs.get("current") or {}), "instance": instance}
        serving = StepContext(ctx.customer, ctx.key, outputs, ctx.notes)
        record = self.create_dns_record(serving)
        self.deploy_apps(serving)
        return {**record, "instance_id": instance.get("instance_id")}

    def switch_dns(self, ctx: StepContext) -> dict[str, Any]:
        output = self._point(ctx, ctx.outputs.get("launch") or {})
        ctx.note(f"{output['subdomain']} now points at {output['address']} ({output['instance_id']})")
        return output

    def switch_dns_back(self, ctx: StepContext, output: dict[str, Any] | None) -> None:
        old = (ctx.outputs.get("snapshot") or {}).get("source") or \
            (ctx.outputs.get("current") or {}).get("instance") or {}
        if old.get("public_address"):
            back = self._point(ctx, old)
            ctx.note(f"{back['subdomain']} points at {back['address']} again")

    def retire_instance(self, ctx: StepContext) -> dict[str, Any]:
        snapshot = ctx.outputs.get("snapshot") or {}
        old_id = (snapshot.get("source") or {}).get("instance_id")
        new_id = (ctx.outputs.get("launch") or {}).get("instance_id")
        if not old_id or old_id == new_id:
            raise PermanentStepError(f"refusing to retire {old_id}: it is not the replaced instance.")
        try:
            live = self._instances([{"Name": "instance-id", "Values": [old_id]}])
            if live:
                self.ec2.terminate_instances(InstanceIds=[old_id])
                ctx.note(f"terminated {old_id}")
            earlier = [image for image in self._images([
                {"Name": "tag:supakit:organization", "Values": [str(ctx.customer.organization_id)]},
                {"Name": "tag:supakit:purpose", "Values": ["resize-snapshot"]}])
                if image["ImageId"] != snapshot.get("image_id")]
            removed = self._delete_images(earlier)
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"retire instance {old_id}") from None
        return {"retired": old_id, "removed_images": removed}

    # -- health and usage ------------------------------------------------------------------------------------

    def instance_state(self, customer: Customer, resources: dict[str, Any]) -> dict[str, Any]:
        instance_id = (resources.get("instance") or {}).get("instance_id")
        if not instance_id:
            return {"state": "missing", "ok": False, "detail": "no instance recorded"}
        try:
            statuses = self.ec2.describe_instance_status(InstanceIds=[instance_id],
                                                         IncludeAllInstances=True)["InstanceStatuses"]
        except botocore.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InvalidInstanceID.NotFound":
                return {"state": "missing", "ok": False, "detail": f"{instance_id} does not exist"}
            raise _step_error(error, f"read the status of {instance_id}") from None
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"read the status of {instance_id}") from None
        if not statuses:
            return {"state": "missing", "ok": False, "detail": f"{instance_id} does not exist"}
        status = statuses[0]
        state = status["InstanceState"]["Name"]
        checks = [(status.get(k) or {}).get("Status") for k in ("SystemStatus", "InstanceStatus")]
        ok = state == "running" and "impaired" not in checks
        return {"state": state, "ok": ok, "detail": f"{instance_id}: system {checks[0]}, instance {checks[1]}"}

    def usage(self, customer: Customer, resources: dict[str, Any], since: Any) -> dict[str, Any]:
        instance_id = (resources.get("instance") or {}).get("instance_id")
        if not instance_id:
            return {"storage_bytes": None, "bandwidth_bytes": None, "sources": {"storage_bytes": "no instance",
                                                                             "bandwidth_bytes": "no instance"}}
        cloudwatch = self.session.client("cloudwatch", config=Config(retries={"mode": "standard",
                                                                              "max_attempts": 3}))
        try:
            volumes = self.ec2.describe_volumes(
                Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}])["Volumes"]
            bandwidth = 0.0
            for metric in ("NetworkIn", "NetworkOut"):
                points = cloudwatch.get_metric_statistics(
                    Namespace="AWS/EC2", MetricName=metric, Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
                    StartTime=since, EndTime=datetime.now(UTC), Period=86400, Statistics=["Sum"])["Datapoints"]
                bandwidth += sum(point["Sum"] for point in points)
        except Exception as error:  # noqa: BLE001
            raise _step_error(error, f"read the usage of {instance_id}") from None
        return {"storage_bytes": sum(v["Size"] for v in volumes) * 1024**3, "bandwidth_bytes": int(bandwidth),
                "sources": {"storage_bytes": f"EC2 volumes attached to {instance_id} (provisioned GiB)",
                            "bandwidth_bytes": f"CloudWatch AWS/EC2 NetworkIn + NetworkOut Sum of {instance_id}"}}


PROVIDERS["aws"] = lambda settings, _database_url: AWSProvider.from_settings(settings)
