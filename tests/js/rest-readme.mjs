// README.md's Messaging snippet (the PostgREST part), run as written against the gateway with supabase-js.
// Env: SUPABASE_URL, ANON_KEY, USER_TOKEN (the signed-in user's access token), OTHER_USER (a user id sharing exactly
// one organization with them). Prints {conversation_id, page, posted, badges, errors} as one JSON line.
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

process.stdout.write(JSON.stringify({ conversation_id: conversation.id, page, posted: inserted.status === 201,
  badges, errors }) + '\n')
process.exit(0)
