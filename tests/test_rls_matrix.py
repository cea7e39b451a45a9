"""The RLS matrix: every exposed table x actor x command, as PostgREST would answer it, written as data.

Each cell runs in a fresh world (built by the superuser, inside the test's rolled-back transaction):

- organization "home" with one user per role: owner, admin, manager, member, assistant, client; one project, three
  tasks (one assigned to the member, one to the assistant, one unassigned), one pending invitation, one generation,
  one usage counter, and one provisioning run (with one step, its log line and its infrastructure row), one backup,
  one health check and one day of infrastructure usage;
- organization "other" with its owner (the `outsider`, our signed-in non-member of home) and a member; one project,
  two tasks (one assigned to that member, one unassigned), one pending invitation, one generation, one usage
  counter, and one provisioning run (as home's);
- both organizations have a Stripe customer, an active Pro subscription and a paid invoice;
- a `newcomer`: signed up, in no organization, whose profile row was removed (so a profile insert can succeed);
- messaging: in home a group conversation started by the manager (its owner) with the member and the client, holding
  a message from the manager and one from the member, and a direct conversation between the member and the
  assistant holding a message from the assistant; in other a group conversation of the outsider alone with one
  message of theirs;
- channels: in each organization a sender number, a contact bound to the group conversation, a delivery of its
  latest message (home: the member's) and a ready reply suggestion to it;
- storage objects: an attachment in home's group conversation folder (uploaded by the manager), one in the direct
  conversation's (by the assistant) and one in other's conversation (by the outsider); an upload in the member's and
  in other_member's own folder; one generated asset in each organization's folder.

Rows named `storage:<bucket>` are storage.objects in that bucket, reached as storage-api reaches them: the same
role and claims as PostgREST, plus `storage.allow_delete_query` set for the request (supabase-surface.md §4).

Every cell is asked twice, against home's rows and against other's rows, and the expected outcome is written
`home/other` (one value when both agree). A value of 400 or more is the HTTP status PostgREST answers
(docs: ../shared/reference/postgrest-protocol.md §6, §8); a smaller value is the number of rows the request sees
(select) or affects (insert, update, delete). A table added to `public` must add its four rows to MATRIX and its
statements to STATEMENTS; test_the_matrix_covers_every_table_in_public fails until it does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
import pytest

from functions_py.errors import RequestError
from functions_py.postgrest import as_anon, as_service, as_user

ACTORS = ("anon", "outsider", "owner", "admin", "manager", "member", "assistant", "client", "service_role")
HOME_ROLES = ("owner", "admin", "manager", "member", "assistant", "client")
COMMANDS = {"select": "GET", "insert": "POST", "update": "PATCH", "delete": "DELETE"}
SCOPES = ("home", "other")

# Derived from policies/*.sql and the triggers in sql/, read as written. Worth knowing:
#   * anon holds no grant on any table: every anon cell is 401 (42501 under the anon role).
#   * memberships and invitations have no user write grants (writes go through the RPCs): 403 for every user.
#   * organizations: no insert grant for users (create_organization is the way in): 403.
#   * tasks: members and assistants see and update only the task assigned to them (update: status only).
#   * clients read everything in their organization and write nothing.
#   * plans are public (pricing): everyone reads them, anon included; only the service role writes.
#   * generations and usage_counters are written only by request_generation and the queue's triggers: members
#     read their organization's rows and no user writes (403).
#   * provisioning runs, steps, logs, customer_infrastructure, instance_health_checks and infrastructure_usage:
#     members (clients included) read their organization's rows; only the service role writes; logs are
#     append-only, so even the service role gets 403 for update and delete (no grant).
#   * backups (sql/0031): owners and admins read their organization's; only the service role writes.
#   * billing (subscriptions, invoices) is written only by the Stripe webhook and `supakit billing sync` as the
#     service role: members read their organization's rows; billing_customers only owners and admins read.
#   * service_role bypasses RLS, but not the membership triggers: deleting all of an organization's memberships
#     would remove its last owner, so even the service role gets 409 (PT409).
#   * messaging: participants read; owners and admins read everything of their organization (moderation) but cannot
#     edit others' messages (the trigger answers 403) nor post where they do not take part; a direct conversation
#     keeps both participants (409, even for the service role); only the service role hard-deletes messages.
#   * channels: members read their organization's sender numbers; staff (not clients) its contacts; whoever reads a
#     message reads its delivery; suggestions are for owners, admins and staff taking part in the conversation,
#     who may only dismiss them; every other write is the service role's (SQL functions write the rest).
#   * storage: anon holds every storage grant (as on Supabase), so its reads see nothing rather than 401; only the
#     participants of a conversation see its attachments, only uploaders change theirs; user-uploads are the user's
#     alone; generated assets are read by members and written by the service role only.
MATRIX = """
# table        command  anon  outsider  owner  admin  manager  member  assistant  client  service_role
profiles       select   401   0/2       6/0    6/0    6/0      6/0     6/0        6/0     6/2
profiles       insert   401   403       403    403    403      403     403        403     1
profiles       update   401   0/1       1/0    1/0    1/0      1/0     1/0        1/0     6/2
profiles       delete   401   403       403    403    403      403     403        403     6/2
organizations  select   401   0/1       1/0    1/0    1/0      1/0     1/0        1/0     1
organizations  insert   401   403       403    403    403      403     403        403     1
organizations  update   401   0/1       1/0    1/0    0        0       0          0       1
organizations  delete   401   0/1       1/0    0      0        0       0          0       1
memberships    select   401   0/2       6/0    6/0    6/0      6/0     6/0        6/0     6/2
memberships    insert   401   403       403    403    403      403     403        403     1
memberships    update   401   403       403    403    403      403     403        403     5/1
memberships    delete   401   403       403    403    403      403     403        403     409
invitations    select   401   0/1       1/0    1/0    0        0       0          0       1
invitations    insert   401   403       403    403    403      403     403        403     1
invitations    update   401   403       403    403    403      403     403        403     1
invitations    delete   401   403       403    403    403      403     403        403     1
projects       select   401   0/1       1/0    1/0    1/0      1/0     1/0        1/0     1
projects       insert   401   403/1     1/403  1/403  1/403    403     403        403     1
projects       update   401   0/1       1/0    1/0    1/0      0       0          0       1
projects       delete   401   0/1       1/0    1/0    1/0      0       0          0       1
tasks          select   401   0/2       3/0    3/0    3/0      1/0     1/0        3/0     3/2
tasks          insert   401   403/1     1/403  1/403  1/403    403     403        403     1
tasks          update   401   0/2       3/0    3/0    3/0      1/0     1/0        0       3/2
tasks          delete   401   0/2       3/0    3/0    3/0      0       0          0       3/2
plans          select   3     3         3      3      3        3       3          3       3
plans          insert   401   403       403    403    403      403     403        403     1
plans          update   401   403       403    403    403      403     403        403     1
plans          delete   401   403       403    403    403      403     403        403     1
generations    select   401   0/1       1/0    1/0    1/0      1/0     1/0        1/0     1
generations    insert   401   403       403    403    403      403     403        403     1
generations    update   401   403       403    403    403      403     403        403     1
generations    delete   401   403       403    403    403      403     403        403     1
usage_counters select   401   0/1       1/0    1/0    1/0      1/0     1/0        1/0     1
usage_counters insert   401   403       403    403    403      403     403        403     1
usage_counters update   401   403       403    403    403      403     403        403     1
usage_counters delete   401   403       403    403    403      403     403        403     1
conversations  select   401   0/1       2/0    2/0    1/0      2/0     1/0        1/0     2/1
conversations  insert   401   403/1     1/403  1/403  1/403    1/403   1/403      1/403   1
conversations  update   401   0/1       2/0    2/0    1/0      0       0          0       2/1
conversations  delete   401   0/1       2/0    2/0    0        0       0          0       2/1
conversation_participants select  401  0/1  5/0    5/0    3/0      5/0     2/0        3/0     5/1
conversation_participants insert  401  403/1  1/403  1/403  1/403  403     403        403     1
conversation_participants update  401  0/1  0      0      1/0      2/0     1/0        1/0     5/1
conversation_participants delete  401  0/1  409/0  409/0  3/0      409/0   409/0      1/0     409/1
messages       select   401   0/1       3/0    3/0    2/0      3/0     1/0        2/0     3/1
messages       insert   401   403/1     403    403    1/403    1/403   403        1/403   1
messages       update   401   0/1       403/0  403/0  1/0      1/0     1/0        0       3/1
messages       delete   401   403       403    403    403      403     403        403     3/1
channel_senders select   401   0/1       1/0    1/0    1/0      1/0     1/0        1/0     1
channel_senders insert   401   403       403    403    403      403     403        403     1
channel_senders update   401   403       403    403    403      403     403        403     1
channel_senders delete   401   403       403    403    403      403     403        403     1
channel_contacts select  401   0/1       1/0    1/0    1/0      1/0     1/0        0       1
channel_contacts insert  401   403       403    403    403      403     403        403     1
channel_contacts update  401   403       403    403    403      403     403        403     1
channel_contacts delete  401   403       403    403    403      403     403        403     1
message_deliveries select 401  0/1       1/0    1/0    1/0      1/0     0          1/0     1
message_deliveries insert 401  403       403    403    403      403     403        403     1/0
message_deliveries update 401  403       403    403    403      403     403        403     1
message_deliveries delete 401  403       403    403    403      403     403        403     1
reply_suggestions select 401   0/1       1/0    1/0    1/0      1/0     0          0       1
reply_suggestions insert 401   403       403    403    403      403     403        403     1
reply_suggestions update 401   0/1       1/0    1/0    1/0      1/0     0          0       1
reply_suggestions delete 401   403       403    403    403      403     403        403     1
storage:message-attachments select  0    0/1    0      0      1/0      2/0     1/0        1/0     2/1
storage:message-attachments insert  401  403/1  403    403    1/403    1/403   403        1/403   1
storage:message-attachments update  0    0/1    0      0      1/0      0       1/0        0       2/1
storage:message-attachments delete  0    0/1    0      0      1/0      0       1/0        0       2/1
storage:user-uploads        select  0    0      0      0      0        1/0     0          0       1
storage:user-uploads        insert  401  403    403    403    403      1/403   403        403     1
storage:user-uploads        update  0    0      0      0      0        1/0     0          0       1
storage:user-uploads        delete  0    0      0      0      0        1/0     0          0       1
storage:generated-assets    select  0    0/1    1/0    1/0    1/0      1/0     1/0        1/0     1
storage:generated-assets    insert  401  403    403    403    403      403     403        403     1
storage:generated-assets    update  0    0      0      0      0        0       0          0       1
storage:generated-assets    delete  0    0      0      0      0        0       0          0       1
provisioning_runs select  401   0/1    1/0    1/0    1/0      1/0     1/0        1/0     1
provisioning_runs insert  401   403    403    403    403      403     403        403     1
provisioning_runs update  401   403    403    403    403      403     403        403     1
provisioning_runs delete  401   403    403    403    403      403     403        403     1
provisioning_steps select 401   0/1    1/0    1/0    1/0      1/0     1/0        1/0     1
provisioning_steps insert 401   403    403    403    403      403     403        403     1
provisioning_steps update 401   403    403    403    403      403     403        403     1
provisioning_steps delete 401   403    403    403    403      403     403        403     1
provisioning_logs select  401   0/1    1/0    1/0    1/0      1/0     1/0        1/0     1
provisioning_logs insert  401   403    403    403    403      403     403        403     1
provisioning_logs update  401   403    403    403    403      403     403        403     403
provisioning_logs delete  401   403    403    403    403      403     403        403     403
customer_infrastructure select 401 0/1 1/0    1/0    1/0      1/0     1/0        1/0     1
customer_infrastructure insert 401 403 403    403    403      403     403        403     1
customer_infrastructure update 401 403 403    403    403      403     403        403     1
customer_infrastructure delete 401 403 403    403    403      403     403        403     1
backups        select   401   0/1       1/0    1/0    0        0       0          0       1
backups        insert   401   403       403    403    403      403     403        403     1
backups        update   401   403       403    403    403      403     403        403     1
backups        delete   401   403       403    403    403      403     403        403     1
instance_health_checks select 401 0/1 1/0     1/0    1/0      1/0     1/0        1/0     1
instance_health_checks insert 401 403 403     403    403      403     403        403     1
instance_health_checks update 401 403 403     403    403      403     403        403     1
instance_health_checks delete 401 403 403     403    403      403     403        403     1
infrastructure_usage select 401   0/1 1/0     1/0    1/0      1/0     1/0        1/0     1
infrastructure_usage insert 401   403 403     403    403      403     403        403     1
infrastructure_usage update 401   403 403     403    403      403     403        403     1
infrastructure_usage delete 401   403 403     403    403      403     403        403     1
billing_customers select 401 0/1     1/0    1/0    0        0       0          0       1
billing_customers insert 401 403       403    403    403      403     403        403     1
billing_customers update 401 403       403    403    403      403     403        403     1
billing_customers delete 401 403       403    403    403      403     403        403     1
subscriptions  select   401   0/1       1/0    1/0    1/0      1/0     1/0        1/0     1
subscriptions  insert   401   403       403    403    403      403     403        403     1
subscriptions  update   401   403       403    403    403      403     403        403     1
subscriptions  delete   401   403       403    403    403      403     403        403     1
invoices       select   401   0/1       1/0    1/0    1/0      1/0     1/0        1/0     1
invoices       insert   401   403       403    403    403      403     403        403     1
invoices       update   401   403       403    403    403      403     403        403     1
invoices       delete   401   403       403    403    403      403     403        403     1
"""

# What each command does to a table, against one organization's rows (parameters: see World.params).
STATEMENTS = {
    "profiles": {
        "select": "select id from public.profiles where id = any(%(member_ids)s)",
        "insert": "insert into public.profiles (id, full_name) values (%(newcomer)s, 'Newcomer')",
        "update": "update public.profiles set full_name = 'Edited' where id = any(%(member_ids)s)",
        "delete": "delete from public.profiles where id = any(%(member_ids)s)",
    },
    "organizations": {
        "select": "select id from public.organizations where id = %(org)s",
        "insert": "insert into public.organizations (name, slug) values ('New organization', %(new_slug)s)",
        "update": "update public.organizations set name = 'Renamed' where id = %(org)s",
        "delete": "delete from public.organizations where id = %(org)s",
    },
    "memberships": {
        "select": "select user_id from public.memberships where organization_id = %(org)s",
        "insert": "insert into public.memberships (organization_id, user_id) values (%(org)s, %(newcomer)s)",
        "update": "update public.memberships set role = 'client' where organization_id = %(org)s and role <> 'owner'",
        "delete": "delete from public.memberships where organization_id = %(org)s",
    },
    "invitations": {
        # never token_hash: it is not granted (see test_owners_read_invitations_but_never_their_token_hash)
        "select": "select id, email, role from public.invitations where organization_id = %(org)s",
        "insert": "insert into public.invitations (organization_id, email, token_hash)"
                  " values (%(org)s, %(new_email)s, sha256(convert_to(gen_random_uuid()::text, 'UTF8')))",
        "update": "update public.invitations set revoked_at = now() where organization_id = %(org)s",
        "delete": "delete from public.invitations where organization_id = %(org)s",
    },
    "projects": {
        "select": "select id from public.projects where organization_id = %(org)s",
        "insert": "insert into public.projects (organization_id, name) values (%(org)s, 'New project')",
        "update": "update public.projects set name = 'Renamed project' where organization_id = %(org)s",
        "delete": "delete from public.projects where organization_id = %(org)s",
    },
    "plans": {  # not per organization: both scopes run the same statement
        "select": "select id from public.plans",
        "insert": "insert into public.plans (id, name) values (%(new_plan)s, 'New plan')",
        "update": "update public.plans set name = 'Renamed plan' where id = 'pro'",
        "delete": "delete from public.plans where id = 'team'",
    },
    "generations": {
        "select": "select id from public.generations where organization_id = %(org)s",
        "insert": "insert into public.generations (organization_id, prompt) values (%(org)s, 'A prompt')",
        "update": "update public.generations set app_type = 'edited' where organization_id = %(org)s",
        "delete": "delete from public.generations where organization_id = %(org)s",
    },
    "usage_counters": {
        "select": "select user_id from public.usage_counters where organization_id = %(org)s",
        "insert": "insert into public.usage_counters (organization_id, user_id, period, period_start)"
                  " values (%(org)s, %(newcomer)s, 'day', current_date)",
        "update": "update public.usage_counters set generations = generations + 1 where organization_id = %(org)s",
        "delete": "delete from public.usage_counters where organization_id = %(org)s",
    },
    "conversations": {
        "select": "select id from public.conversations where organization_id = %(org)s",
        "insert": "insert into public.conversations (organization_id, kind, title)"
                  " values (%(org)s, 'group', 'New chat')",
        "update": "update public.conversations set title = 'Renamed chat' where organization_id = %(org)s",
        "delete": "delete from public.conversations where organization_id = %(org)s",
    },
    "conversation_participants": {
        "select": "select user_id from public.conversation_participants where conversation_id = any(%(conversations)s)",
        "insert": "insert into public.conversation_participants (conversation_id, user_id)"
                  " values (%(group_conversation)s, %(extra_member)s)",
        "update": "update public.conversation_participants set muted = true"
                  " where conversation_id = any(%(conversations)s)",
        "delete": "delete from public.conversation_participants where conversation_id = any(%(conversations)s)",
    },
    "channel_senders": {
        "select": "select id from public.channel_senders where organization_id = %(org)s",
        "insert": "insert into public.channel_senders (organization_id, channel, address)"
                  " values (%(org)s, 'whatsapp', '+1' || (2000000000 + floor(random() * 7e9))::bigint::text)",
        "update": "update public.channel_senders set channel = channel where organization_id = %(org)s",
        "delete": "delete from public.channel_senders where organization_id = %(org)s",
    },
    "channel_contacts": {
        "select": "select id from public.channel_contacts where organization_id = %(org)s",
        "insert": "insert into public.channel_contacts (organization_id, channel, address)"
                  " values (%(org)s, 'whatsapp', '+15551230000')",
        "update": "update public.channel_contacts set display_name = 'Edited' where organization_id = %(org)s",
        "delete": "delete from public.channel_contacts where organization_id = %(org)s",
    },
    "message_deliveries": {
        "select": "select message_id from public.message_deliveries where organization_id = %(org)s",
        # a message of the organization that has no delivery yet (home has two, other none)
        "insert": "insert into public.message_deliveries (message_id, organization_id, conversation_id, channel,"
                  " direction, status) select m.id, m.organization_id, m.conversation_id, 'sms', 'outbound', 'queued'"
                  " from public.messages as m where m.organization_id = %(org)s and not exists (select 1 from"
                  " public.message_deliveries as d where d.message_id = m.id) order by m.created_at limit 1",
        "update": "update public.message_deliveries set error_code = 'edited' where organization_id = %(org)s",
        "delete": "delete from public.message_deliveries where organization_id = %(org)s",
    },
    "reply_suggestions": {
        "select": "select id from public.reply_suggestions where organization_id = %(org)s",
        "insert": "insert into public.reply_suggestions (organization_id, conversation_id, message_id)"
                  " select organization_id, conversation_id, id from public.messages where organization_id = %(org)s"
                  " order by created_at limit 1",
        "update": "update public.reply_suggestions set status = 'dismissed' where organization_id = %(org)s",
        "delete": "delete from public.reply_suggestions where organization_id = %(org)s",
    },
    "messages": {
        "select": "select id from public.messages where organization_id = %(org)s",
        "insert": "insert into public.messages (conversation_id, body) values (%(group_conversation)s, 'Hello there')",
        "update": "update public.messages set body = 'Edited' where organization_id = %(org)s",
        "delete": "delete from public.messages where organization_id = %(org)s",
    },
    "storage:message-attachments": {
        "select": "select id from storage.objects where bucket_id = 'message-attachments'"
                  " and (storage.foldername(name))[1] = any(%(conversation_folders)s)",
        "insert": "insert into storage.objects (bucket_id, name, owner_id) values ('message-attachments',"
                  " %(group_folder)s || '/new-' || %(tag)s || '.pdf', (select auth.uid())::text)",
        "update": "update storage.objects set metadata = '{\"size\": 1}' where bucket_id = 'message-attachments'"
                  " and (storage.foldername(name))[1] = any(%(conversation_folders)s)",
        "delete": "delete from storage.objects where bucket_id = 'message-attachments'"
                  " and (storage.foldername(name))[1] = any(%(conversation_folders)s)",
    },
    "storage:user-uploads": {
        "select": "select id from storage.objects where bucket_id = 'user-uploads'"
                  " and (storage.foldername(name))[1] = any(%(member_folders)s)",
        "insert": "insert into storage.objects (bucket_id, name, owner_id) values ('user-uploads',"
                  " %(uploader_folder)s || '/new-' || %(tag)s || '.png', (select auth.uid())::text)",
        "update": "update storage.objects set metadata = '{\"size\": 1}' where bucket_id = 'user-uploads'"
                  " and (storage.foldername(name))[1] = any(%(member_folders)s)",
        "delete": "delete from storage.objects where bucket_id = 'user-uploads'"
                  " and (storage.foldername(name))[1] = any(%(member_folders)s)",
    },
    "storage:generated-assets": {
        "select": "select id from storage.objects where bucket_id = 'generated-assets'"
                  " and (storage.foldername(name))[1] = %(org_folder)s",
        "insert": "insert into storage.objects (bucket_id, name, owner_id) values ('generated-assets',"
                  " %(org_folder)s || '/new-' || %(tag)s || '.png', (select auth.uid())::text)",
        "update": "update storage.objects set metadata = '{\"size\": 1}' where bucket_id = 'generated-assets'"
                  " and (storage.foldername(name))[1] = %(org_folder)s",
        "delete": "delete from storage.objects where bucket_id = 'generated-assets'"
                  " and (storage.foldername(name))[1] = %(org_folder)s",
    },
    "provisioning_runs": {
        "select": "select id from public.provisioning_runs where organization_id = %(org)s",
        # a deprovision run: the provision run the world made is live, and one live run per kind is the rule
        "insert": "insert into public.provisioning_runs (organization_id, kind, plan_id)"
                  " values (%(org)s, 'deprovision', 'free')",
        "update": "update public.provisioning_runs set reason = 'edited' where organization_id = %(org)s",
        "delete": "delete from public.provisioning_runs where organization_id = %(org)s",
    },
    "provisioning_steps": {
        "select": "select id from public.provisioning_steps where organization_id = %(org)s",
        "insert": "insert into public.provisioning_steps (run_id, organization_id, ordinal, name, idempotency_key)"
                  " select id, organization_id, 9, 'extra', id::text || ':extra' from public.provisioning_runs"
                  " where organization_id = %(org)s",
        "update": "update public.provisioning_steps set error = 'edited' where organization_id = %(org)s",
        "delete": "delete from public.provisioning_steps where organization_id = %(org)s",
    },
    "provisioning_logs": {
        "select": "select id from public.provisioning_logs where organization_id = %(org)s",
        "insert": "insert into public.provisioning_logs (run_id, organization_id, message)"
                  " select id, organization_id, 'a note' from public.provisioning_runs where organization_id = %(org)s",
        "update": "update public.provisioning_logs set message = 'edited' where organization_id = %(org)s",
        "delete": "delete from public.provisioning_logs where organization_id = %(org)s",
    },
    "customer_infrastructure": {
        "select": "select organization_id from public.customer_infrastructure where organization_id = %(org)s",
        "insert": "insert into public.customer_infrastructure (organization_id) values (%(org)s)"
                  " on conflict (organization_id) do update set status = excluded.status",
        "update": "update public.customer_infrastructure set subdomain = 'edited' where organization_id = %(org)s",
        "delete": "delete from public.customer_infrastructure where organization_id = %(org)s",
    },
    "backups": {
        "select": "select id from public.backups where organization_id = %(org)s",
        "insert": "insert into public.backups (organization_id, plan_id) values (%(org)s, 'free')",
        "update": "update public.backups set reason = 'edited' where organization_id = %(org)s",
        "delete": "delete from public.backups where organization_id = %(org)s",
    },
    "instance_health_checks": {
        "select": "select id from public.instance_health_checks where organization_id = %(org)s",
        "insert": "insert into public.instance_health_checks (organization_id, status, instance_state, instance_ok)"
                  " values (%(org)s, 'down', 'stopped', false)",
        "update": "update public.instance_health_checks set error = 'edited' where organization_id = %(org)s",
        "delete": "delete from public.instance_health_checks where organization_id = %(org)s",
    },
    "infrastructure_usage": {
        "select": "select day from public.infrastructure_usage where organization_id = %(org)s",
        # yesterday: the world holds today's row
        "insert": "insert into public.infrastructure_usage (organization_id, day, period_start, users)"
                  " values (%(org)s, current_date - 1, date_trunc('month', current_date - 1)::date, 1)",
        "update": "update public.infrastructure_usage set users = 9 where organization_id = %(org)s",
        "delete": "delete from public.infrastructure_usage where organization_id = %(org)s",
    },
    "billing_customers": {
        "select": "select organization_id from public.billing_customers where organization_id = %(org)s",
        "insert": "insert into public.billing_customers (organization_id, stripe_customer_id)"
                  " values (%(org)s, 'cus_' || replace(%(new_plan)s, '_', ''))"
                  " on conflict (organization_id) do update set stripe_customer_id = excluded.stripe_customer_id",
        "update": "update public.billing_customers set email = 'billing@example.com' where organization_id = %(org)s",
        "delete": "delete from public.billing_customers where organization_id = %(org)s",
    },
    "subscriptions": {
        "select": "select id from public.subscriptions where organization_id = %(org)s",
        "insert": "insert into public.subscriptions (organization_id, plan_id, status, stripe_subscription_id,"
                  " stripe_customer_id, last_event_at) values (%(org)s, 'team', 'active',"
                  " 'sub_' || replace(%(new_plan)s, '_', ''), 'cus_new', now())",
        "update": "update public.subscriptions set cancel_at_period_end = true where organization_id = %(org)s",
        "delete": "delete from public.subscriptions where organization_id = %(org)s",
    },
    "invoices": {
        "select": "select id from public.invoices where organization_id = %(org)s",
        "insert": "insert into public.invoices (organization_id, stripe_invoice_id, stripe_customer_id, status,"
                  " currency, last_event_at) values (%(org)s, 'in_' || replace(%(new_plan)s, '_', ''), 'cus_new',"
                  " 'open', 'usd', now())",
        "update": "update public.invoices set status = 'void' where organization_id = %(org)s",
        "delete": "delete from public.invoices where organization_id = %(org)s",
    },
    "tasks": {
        "select": "select id from public.tasks where organization_id = %(org)s",
        "insert": "insert into public.tasks (organization_id, project_id, title)"
                  " values (%(org)s, %(project)s, 'New task')",
        "update": "update public.tasks set status = 'in_progress' where organization_id = %(org)s",
        "delete": "delete from public.tasks where organization_id = %(org)s",
    },
}

EXPOSED_TABLES_QUERY = """
    select c.relname from pg_catalog.pg_class as c
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
    order by 1"""

RLS_DISABLED_QUERY = """
    select c.relname from pg_catalog.pg_class as c
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity
    order by 1"""


@dataclass(frozen=True)
class Status:
    """An HTTP status PostgREST answers instead of rows."""

    code: int

    def __repr__(self) -> str:
        return f"HTTP {self.code}"


def _outcome(text: str) -> int | Status:
    value = int(text)
    return Status(value) if value >= 400 else value


def parse_matrix(text: str) -> dict[tuple[str, str, str, str], int | Status]:
    """{(table, command, actor, scope): expected outcome} from the MATRIX grid."""
    cells: dict[tuple[str, str, str, str], int | Status] = {}
    for line in text.strip().splitlines():
        if line.startswith("#"):
            continue
        table, command, *values = line.split()
        assert len(values) == len(ACTORS), f"the {table} {command} row needs one cell per actor: {ACTORS}"
        assert command in COMMANDS, f"unknown command {command!r} in the {table} row"
        assert (table, command, ACTORS[0], SCOPES[0]) not in cells, f"{table} {command} is listed twice"
        for actor, value in zip(ACTORS, values, strict=True):
            home, _, other = value.partition("/")
            cells[(table, command, actor, "home")] = _outcome(home)
            cells[(table, command, actor, "other")] = _outcome(other or home)
    return cells


EXPECTED = parse_matrix(MATRIX)
MATRIX_TABLES = sorted({table for table, *_ in EXPECTED})
PUBLIC_TABLES = [table for table in MATRIX_TABLES if not table.startswith("storage:")]
# What storage-api sets in every request's transaction besides PostgREST's settings (its delete guard's key).
STORAGE_REQUEST = "select set_config('storage.allow_delete_query', 'true', true)"


@dataclass
class World:
    users: dict[str, uuid.UUID]
    orgs: dict[str, uuid.UUID]
    projects: dict[str, uuid.UUID]
    member_ids: dict[str, list[uuid.UUID]]
    newcomer: uuid.UUID
    conversations: dict[str, list[uuid.UUID]]
    extra_members: dict[str, uuid.UUID]
    uploaders: dict[str, uuid.UUID]

    def params(self, scope: str) -> dict[str, object]:
        """The statement parameters that point a command at `scope`'s rows."""
        tag = uuid.uuid4().hex[:8]
        return {
            "org": self.orgs[scope],
            "member_ids": self.member_ids[scope],
            "project": self.projects[scope],
            "newcomer": self.newcomer,
            "new_slug": f"new-{scope}-{tag}",
            "new_email": f"invitee-{tag}@example.com",
            "new_plan": f"plan_{tag}",
            "tag": tag,
            "conversations": self.conversations[scope],
            "group_conversation": self.conversations[scope][0],
            "group_folder": str(self.conversations[scope][0]),
            "conversation_folders": [str(c) for c in self.conversations[scope]],
            "extra_member": self.extra_members[scope],
            "member_folders": [str(m) for m in self.member_ids[scope]],
            "uploader_folder": str(self.uploaders[scope]),
            "org_folder": str(self.orgs[scope]),
        }


@pytest.fixture
def world(db: psycopg.Connection, make_user) -> World:
    """Two organizations with rows of every kind; see the module docstring."""
    users = {role: make_user(full_name=role.title()) for role in (*HOME_ROLES, "outsider", "other_member")}
    newcomer = make_user(full_name="Newcomer")
    db.execute("delete from public.profiles where id = %s", (newcomer,))

    tag = uuid.uuid4().hex[:8]
    orgs, projects = {}, {}
    for scope in SCOPES:
        orgs[scope], = db.execute(
            "insert into public.organizations (name, slug, created_by) values (%s, %s, %s) returning id",
            (scope.title(), f"{scope}-{tag}", users["owner" if scope == "home" else "outsider"])).fetchone()
        projects[scope], = db.execute(
            "insert into public.projects (organization_id, name) values (%s, %s) returning id",
            (orgs[scope], f"{scope.title()} project")).fetchone()
        db.execute(
            "insert into public.invitations (organization_id, email, token_hash)"
            " values (%s, %s, sha256(convert_to(gen_random_uuid()::text, 'UTF8')))",
            (orgs[scope], f"pending-{scope}-{tag}@example.com"))

    member_ids = {
        "home": [users[role] for role in HOME_ROLES],
        "other": [users["outsider"], users["other_member"]],
    }
    roles = [("home", users[role], role) for role in HOME_ROLES]
    roles += [("other", users["outsider"], "owner"), ("other", users["other_member"], "member")]
    with db.cursor() as cur:
        cur.executemany("insert into public.memberships (organization_id, user_id, role) values (%s, %s, %s)",
                        [(orgs[scope], user, role) for scope, user, role in roles])
        tasks = [
            ("home", "Member's task", users["member"]),
            ("home", "Assistant's task", users["assistant"]),
            ("home", "Unassigned task", None),
            ("other", "Other member's task", users["other_member"]),
            ("other", "Other unassigned task", None),
        ]
        cur.executemany(
            "insert into public.tasks (organization_id, project_id, title, assignee_id) values (%s, %s, %s, %s)",
            [(orgs[scope], projects[scope], title, assignee) for scope, title, assignee in tasks])
        authors = {"home": users["member"], "other": users["other_member"]}
        cur.executemany("insert into public.generations (organization_id, user_id, prompt) values (%s, %s, 'Hello')",
                        [(orgs[scope], authors[scope]) for scope in SCOPES])
        cur.executemany("insert into public.usage_counters (organization_id, user_id, period, period_start,"
                        " generations) values (%s, %s, 'month', date_trunc('month', now())::date, 1)",
                        [(orgs[scope], authors[scope]) for scope in SCOPES])
        for scope in SCOPES:  # a provisioning run (with its log line and infrastructure row) and one step
            cur.execute("select internal.request_provisioning(%s, 'matrix')", (orgs[scope],))
            cur.execute("insert into public.provisioning_steps (run_id, organization_id, ordinal, name,"
                        " idempotency_key) select id, organization_id, 1, 'instance', id::text || ':instance'"
                        " from public.provisioning_runs where organization_id = %s", (orgs[scope],))
            cur.execute("insert into public.backups (organization_id, plan_id, status, export_url, size_bytes,"
                        " sha256, finished_at) values (%s, 'pro', 'succeeded', 's3://b/k', 1, repeat('a', 64),"
                        " now())", (orgs[scope],))
            # one health check and one day of usage (sql/0033)
            cur.execute("select internal.record_health_check(%s, '{\"instance_state\": \"running\","
                        " \"instance_ok\": true, \"http_status\": 200}')", (orgs[scope],))
            cur.execute("select internal.record_usage(%s, '{\"storage_bytes\": 1024}')", (orgs[scope],))
        for scope in SCOPES:
            customer, subscription, invoice = f"cus_{scope}{tag}", f"sub_{scope}{tag}", f"in_{scope}{tag}"
            cur.execute("insert into public.billing_customers (organization_id, stripe_customer_id) values (%s, %s)",
                        (orgs[scope], customer))
            cur.execute("insert into public.subscriptions (organization_id, plan_id, status, stripe_subscription_id,"
                        " stripe_customer_id, last_event_at) values (%s, 'pro', 'active', %s, %s, now())",
                        (orgs[scope], subscription, customer))
            cur.execute("insert into public.invoices (organization_id, stripe_invoice_id, stripe_customer_id,"
                        " stripe_subscription_id, status, currency, amount_due, last_event_at)"
                        " values (%s, %s, %s, %s, 'paid', 'usd', 1000, now())",
                        (orgs[scope], invoice, customer, subscription))
    conversations = _messaging_world(db, users, orgs)
    return World(users=users, orgs=orgs, projects=projects, member_ids=member_ids, newcomer=newcomer,
                 conversations=conversations,
                 extra_members={"home": users["assistant"], "other": users["other_member"]},
                 uploaders={"home": users["member"], "other": users["other_member"]})


def _messaging_world(db: psycopg.Connection, users: dict[str, uuid.UUID],
                     orgs: dict[str, uuid.UUID]) -> dict[str, list[uuid.UUID]]:
    """Conversations, messages and storage objects (see the module docstring); the group conversation first."""
    def conversation(scope: str, creator: str, others: list[str]) -> uuid.UUID:
        conversation_id, = db.execute(
            "insert into public.conversations (organization_id, kind, title, created_by) values (%s, 'group', %s, %s)"
            " returning id", (orgs[scope], f"{scope.title()} chat", users[creator])).fetchone()
        for other in others:  # the creator was added as the owner by the trigger
            db.execute("insert into public.conversation_participants (conversation_id, user_id) values (%s, %s)",
                       (conversation_id, users[other]))
        return conversation_id

    home_group = conversation("home", "manager", ["member", "client"])
    other_group = conversation("other", "outsider", [])
    low, high = sorted([users["member"], users["assistant"]])
    direct, = db.execute(
        "insert into public.conversations (organization_id, kind, direct_user_low, direct_user_high)"
        " values (%s, 'direct', %s, %s) returning id", (orgs["home"], low, high)).fetchone()
    db.execute("insert into public.conversation_participants (conversation_id, user_id) values (%s, %s), (%s, %s)",
               (direct, low, direct, high))
    with db.cursor() as cur:
        cur.executemany("insert into public.messages (conversation_id, sender_id, body) values (%s, %s, %s)", [
            (home_group, users["manager"], "Welcome"), (home_group, users["member"], "Thanks"),
            (direct, users["assistant"], "Quick question"), (other_group, users["outsider"], "Note to self")])
        cur.executemany("insert into storage.objects (bucket_id, name, owner_id) values (%s, %s, %s)", [
            ("message-attachments", f"{home_group}/brief.pdf", str(users["manager"])),
            ("message-attachments", f"{direct}/photo.png", str(users["assistant"])),
            ("message-attachments", f"{other_group}/notes.pdf", str(users["outsider"])),
            ("user-uploads", f"{users['member']}/avatar.png", str(users["member"])),
            ("user-uploads", f"{users['other_member']}/avatar.png", str(users["other_member"])),
            ("generated-assets", f"{orgs['home']}/logo.png", None),
            ("generated-assets", f"{orgs['other']}/logo.png", None),
        ])
    for scope, group, number in (("home", home_group, "+15550100001"), ("other", other_group, "+15550100002")):
        db.execute("insert into public.channel_senders (organization_id, channel, address) values (%s, 'sms', %s)",
                   (orgs[scope], number))
        contact, = db.execute("insert into public.channel_contacts (organization_id, channel, address,"
                              " conversation_id) values (%s, 'sms', '+15557770000', %s) returning id",
                              (orgs[scope], group)).fetchone()
        latest, = db.execute("select id from public.messages where conversation_id = %s order by created_at desc"
                             " limit 1", (group,)).fetchone()
        db.execute("insert into public.message_deliveries (message_id, organization_id, conversation_id, contact_id,"
                   " channel, direction, status) values (%s, %s, %s, %s, 'sms', 'outbound', 'sent')",
                   (latest, orgs[scope], group, contact))
        db.execute("insert into public.reply_suggestions (organization_id, conversation_id, message_id, status, body)"
                   " values (%s, %s, %s, 'ready', 'A suggested reply')", (orgs[scope], group, latest))
    return {"home": [home_group, direct], "other": [other_group]}


def request_as(db: psycopg.Connection, world: World, actor: str, method: str):
    if actor == "anon":
        return as_anon(db, method=method)
    if actor == "service_role":
        return as_service(db, method=method)
    return as_user(db, world.users[actor], method=method)


def outcome_of(db: psycopg.Connection, world: World, actor: str, table: str, command: str,
               scope: str) -> int | Status:
    """Rows seen or affected by the request, or the HTTP status PostgREST would answer instead."""
    try:
        with request_as(db, world, actor, COMMANDS[command]) as cur:
            if table.startswith("storage:"):
                cur.execute(STORAGE_REQUEST)
            cur.execute(STATEMENTS[table][command], world.params(scope))
            return len(cur.fetchall()) if command == "select" else cur.rowcount
    except RequestError as refused:
        return Status(refused.status)


@pytest.mark.parametrize(
    ("table", "command", "actor", "scope"),
    [pytest.param(*cell, id="-".join(cell)) for cell in EXPECTED],
)
def test_rls_matrix(db, world, table, command, actor, scope):
    expected = EXPECTED[(table, command, actor, scope)]
    actual = outcome_of(db, world, actor, table, command, scope)
    assert actual == expected, (
        f"{actor} running {command} on {table} against the {scope} organization's rows"
        f" should get {expected!r} (rows when a number), but got {actual!r}")


def test_the_matrix_covers_every_table_in_public(db):
    exposed = [name for name, in db.execute(EXPOSED_TABLES_QUERY).fetchall()]
    assert exposed == PUBLIC_TABLES, (
        f"every table PostgREST exposes in public needs its rows in MATRIX: missing"
        f" {sorted(set(exposed) - set(PUBLIC_TABLES))}, stale {sorted(set(PUBLIC_TABLES) - set(exposed))}")
    assert sorted(STATEMENTS) == MATRIX_TABLES, "every table in MATRIX needs its STATEMENTS"
    for table in MATRIX_TABLES:
        for command in COMMANDS:
            for actor in ACTORS:
                for scope in SCOPES:
                    assert (table, command, actor, scope) in EXPECTED, f"{table} {command} has no row in MATRIX"
        assert sorted(STATEMENTS[table]) == sorted(COMMANDS), f"{table} needs one statement per command"


def test_every_table_in_public_has_row_level_security_enabled(db):
    assert db.execute(RLS_DISABLED_QUERY).fetchall() == [], "a public table without RLS is open to its grantees"


def test_owners_read_invitations_but_never_their_token_hash(db, world):
    with as_user(db, world.users["owner"], method="GET") as cur:
        assert cur.execute("select count(*) from public.invitations").fetchone()[0] == 1
    with pytest.raises(RequestError) as refused, as_user(db, world.users["owner"], method="GET") as cur:
        cur.execute("select token_hash from public.invitations")
    assert refused.value.status == 403, "token_hash is not granted, not even to the organization's owner"
    with pytest.raises(RequestError) as refused, as_user(db, world.users["owner"], method="GET") as cur:
        cur.execute("select * from public.invitations")
    assert refused.value.status == 403, "select=* names token_hash too, so clients must list their columns"
