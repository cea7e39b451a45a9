// README.md's Messaging snippet (the PostgREST part) run as written, then the Tenancy RPCs with the signatures
// README lists, against the gateway with supabase-js.
// Env: SUPABASE_URL, ANON_KEY, USER_TOKEN (the signed-in user's access token), OTHER_USER (a user id sharing exactly
// one organization with them), FOUNDER_TOKEN (a user in no organization), INVITEE_TOKEN and INVITEE_EMAIL.
// Prints {conversation_id, page, posted, badges, tenancy, errors} as one JSON line.
import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const supabase = createClient(process.env.SUPABASE_URL, process.env.ANON_KEY, {
  auth: { persistSession: false, autoRefreshToken: false },
  global: { headers: { Authorization: `Bearer ${process.env.USER_TOKEN}` } },
  realtime: { transport: ws },
})
const userId = process.env.OTHER_USER
const errors = []
const check = (step, response) => { if (response.error) errors.push({ step, ...response.error }); return response }

// --- README.md, "Messaging", first snippet ---------------------------------------------------------------------
const { data: conversation } = check('start', await supabase.rpc('start_direct_conversation', { other_user: userId }))
const { data: page } = check('page', await supabase.from('messages')
  .select('id, sender_id, body, attachments, reply_to, created_at, edited_at, deleted_at')
  .eq('conversation_id', conversation.id).order('created_at', { ascending: false }).limit(50))
const inserted = check('insert', await supabase.from('messages').insert({ conversation_id: conversation.id, body: 'Hello!' }))
check('mark_read', await supabase.rpc('mark_read', { conversation_id: conversation.id }))
const { data: badges } = check('badges', await supabase.rpc('unread_counts'))
// ------------------------------------------------------------------------------------------------------------------

// --- README.md, "Organizations, roles and what each may do": the RPCs as documented ----------------------------
const as = (token) => createClient(process.env.SUPABASE_URL, process.env.ANON_KEY, {
  auth: { persistSession: false, autoRefreshToken: false },
  global: { headers: { Authorization: `Bearer ${token}` } },
  realtime: { transport: ws },
})
const founder = as(process.env.FOUNDER_TOKEN)
const invitee = as(process.env.INVITEE_TOKEN)
const tenancy = {}
const slug = `readme-${Date.now()}`
const { data: org } = check('create_organization', await founder.rpc('create_organization', { name: 'Readme', slug }))
const orgId = org && (org.id ?? org)
tenancy.created = Boolean(orgId)
const { data: mine } = check('current_user_organizations', await founder.rpc('current_user_organizations'))
tenancy.listed = JSON.stringify(mine).includes(String(orgId))
const { data: invitation } = check('invite_member', await founder.rpc('invite_member',
  { org_id: orgId, email: process.env.INVITEE_EMAIL, role: 'member' }))
const token = Array.isArray(invitation) ? invitation[0].token : invitation?.token ?? invitation
check('accept_invitation', await invitee.rpc('accept_invitation', { token }))
const inviteeId = JSON.parse(Buffer.from(process.env.INVITEE_TOKEN.split('.')[1], 'base64url')).sub
check('change_member_role', await founder.rpc('change_member_role', { org_id: orgId, user_id: inviteeId, new_role: 'manager' }))
const { data: audit } = check('organization_audit_log', await founder.rpc('organization_audit_log',
  { org_id: orgId, max_rows: 50 }))
tenancy.audited = Array.isArray(audit) && audit.length > 0
check('leave_organization', await invitee.rpc('leave_organization', { org_id: orgId }))
const { data: after } = check('after leaving', await invitee.from('organizations').select('id').eq('id', orgId))
tenancy.left = Array.isArray(after) && after.length === 0
// ------------------------------------------------------------------------------------------------------------------

process.stdout.write(JSON.stringify({ conversation_id: conversation.id, page, posted: inserted.status === 201,
  badges, tenancy, errors }) + '\n')
process.exit(0)
