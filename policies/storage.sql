-- Access control for the storage buckets created in sql/0009 (policies on storage.objects, one per bucket and
-- command). Repeatable and idempotent. The same SQL applies unchanged on hosted Supabase: it uses only
-- storage.foldername() and the columns storage-api fills (bucket_id, name, owner_id = the uploader's JWT sub).
-- Object paths put the owning entity first, so (storage.foldername(name))[1] is what each bucket checks:
--   message-attachments  <conversation id>/<file>  participants read and upload; uploaders change or remove theirs
--   user-uploads         <user id>/<file>          the user alone, for everything
--   generated-assets     <organization id>/<file>  members read; only the service role (bypassing RLS) writes
-- storage-api answers a denied upload with 403 and hides unreadable objects (404), as PostgREST does for tables.
-- Upserts (x-upsert) need the insert, select and update policies together; message-attachments and user-uploads
-- have all three for the uploader.

-- ---------------------------------------------------------------------------------------------------------
-- policies: message-attachments
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "participants can read their conversations' attachments" on storage.objects;
create policy "participants can read their conversations' attachments"
on storage.objects for select to authenticated
using (
  bucket_id = 'message-attachments'
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
);

drop policy if exists "participants can upload attachments to their conversations" on storage.objects;
create policy "participants can upload attachments to their conversations"
on storage.objects for insert to authenticated
with check (
  bucket_id = 'message-attachments'
  and owner_id = (select auth.uid())::text
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
);

drop policy if exists "uploaders can replace their attachments" on storage.objects;
create policy "uploaders can replace their attachments"
on storage.objects for update to authenticated
using (
  bucket_id = 'message-attachments'
  and owner_id = (select auth.uid())::text
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
)
with check (
  bucket_id = 'message-attachments'
  and owner_id = (select auth.uid())::text
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
);

drop policy if exists "uploaders can remove their attachments" on storage.objects;
create policy "uploaders can remove their attachments"
on storage.objects for delete to authenticated
using (
  bucket_id = 'message-attachments'
  and owner_id = (select auth.uid())::text
  and (storage.foldername(name))[1] in (select c.id::text from internal.current_user_conversation_ids() as c (id))
);

-- ---------------------------------------------------------------------------------------------------------
-- policies: user-uploads
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "users can read their own uploads" on storage.objects;
create policy "users can read their own uploads"
on storage.objects for select to authenticated
using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "users can upload to their own folder" on storage.objects;
create policy "users can upload to their own folder"
on storage.objects for insert to authenticated
with check (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "users can replace their own uploads" on storage.objects;
create policy "users can replace their own uploads"
on storage.objects for update to authenticated
using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text)
with check (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);

drop policy if exists "users can remove their own uploads" on storage.objects;
create policy "users can remove their own uploads"
on storage.objects for delete to authenticated
using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);

-- ---------------------------------------------------------------------------------------------------------
-- policies: generated-assets (no insert, update or delete policy: the worker writes as the service role)
-- ---------------------------------------------------------------------------------------------------------

drop policy if exists "members can read their organization's generated assets" on storage.objects;
create policy "members can read their organization's generated assets"
on storage.objects for select to authenticated
using (
  bucket_id = 'generated-assets'
  and (storage.foldername(name))[1] in (select o.id::text from internal.current_user_org_ids() as o (id))
);
