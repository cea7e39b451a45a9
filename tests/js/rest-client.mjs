// Drives @supabase/supabase-js (postgrest-js inside) against the local /rest/v1 on the conformance fixture schema
// (tests/rest/fixture.sql). Usage: node rest-client.mjs, with SUPABASE_URL, ANON_KEY, SERVICE_KEY and USER_TOKEN (a
// session token for fixture user alice) in the environment. Runs every operation below in order and prints one JSON
// object {name: {data, error, count, status}} on stdout; tests/test_rest_supabase_js.py asserts on each entry.
import { createClient } from '@supabase/supabase-js'
import ws from 'ws'

const URL = process.env.SUPABASE_URL
const options = (extra = {}) => ({
  db: { schema: 'fixture' },
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: ws },
  ...extra,
})

const anon = createClient(URL, process.env.ANON_KEY, options())
const service = createClient(URL, process.env.SERVICE_KEY, options())
const alice = createClient(URL, process.env.ANON_KEY,
  options({ global: { headers: { Authorization: `Bearer ${process.env.USER_TOKEN}` } } }))

const books = () => anon.from('books')
const ids = () => books().select('id').order('id')

// Each operation is a thunk returning a postgrest-js builder (awaited here) or a promise of a plain value.
const operations = {
  select_columns: () => anon.from('authors').select('id,name').order('id'),
  select_alias_and_cast: () => anon.from('books').select('year_text:year::text').eq('id', 3),
  select_json_path: () => anon.from('books').select('id,lang:meta->>lang').eq('id', 3),
  eq: () => ids().eq('author_id', 1),
  neq: () => ids().neq('author_id', 1),
  gt: () => ids().gt('year', 1969),
  gte: () => ids().gte('year', 1969),
  lt: () => ids().lt('year', 1965),
  lte: () => ids().lte('year', 1965),
  like: () => ids().like('title', 'The%'),
  ilike: () => ids().ilike('title', '%the%'),
  like_any_of: () => ids().likeAnyOf('title', ['%Solaris%', 'Kind%']),
  ilike_all_of: () => ids().ilikeAllOf('title', ['the%', '%DARK%']),
  regex_match: () => ids().regexMatch('title', '^The'),
  regex_imatch: () => ids().regexIMatch('title', 'ED$'),
  in_list: () => ids().in('id', [1, 3, 5]),
  in_quoted: () => ids().in('title', ['Solaris', 'The Left Hand of Darkness', 'a,b']),
  not_in: () => ids().not('id', 'in', '(1,2,3,4,5)'),
  is_null: () => ids().is('year', null),
  is_true: () => ids().is('in_print', true),
  is_distinct: () => ids().isDistinct('in_print', true),
  not_is_null: () => ids().not('price', 'is', null),
  contains_array: () => ids().contains('tags', ['ocean']),
  contains_json: () => ids().contains('meta', { lang: 'pl' }),
  contained_by: () => ids().containedBy('tags', ['robots', 'humor', 'extra']),
  overlaps: () => ids().overlaps('tags', ['time', 'winter']),
  range_gt: () => anon.from('slots').select('id').order('id').rangeGt('during', '[10,20)'),
  range_lt: () => anon.from('slots').select('id').order('id').rangeLt('during', '[10,20)'),
  range_gte: () => anon.from('slots').select('id').order('id').rangeGte('during', '[5,6)'),
  range_lte: () => anon.from('slots').select('id').order('id').rangeLte('during', '[0,10)'),
  range_adjacent: () => anon.from('slots').select('id').order('id').rangeAdjacent('during', '[10,20)'),
  text_search: () => ids().textSearch('doc', 'planet'),
  text_search_plain: () => ids().textSearch('doc', 'winter planet', { type: 'plain', config: 'english' }),
  text_search_phrase: () => ids().textSearch('doc', 'living ocean', { type: 'phrase' }),
  text_search_websearch: () => ids().textSearch('doc', '"twin planets" or robot', { type: 'websearch' }),
  match_object: () => ids().match({ author_id: 2, year: 1961 }),
  or: () => ids().or('id.eq.1,id.eq.3'),
  or_nested: () => ids().or('year.lt.1962,and(author_id.eq.1,year.gt.1970)'),
  or_referenced_table: () => anon.from('authors').select('id,books(id)').order('id')
    .or('year.lt.1962,year.gt.1975', { referencedTable: 'books' }).order('id', { referencedTable: 'books' }),
  filter_raw: () => ids().filter('title', 'imatch', '^sol'),
  not_like: () => ids().not('title', 'like', 'The%'),
  json_path_filter: () => ids().eq('meta->>lang', 'pl'),
  order_desc_nulls_last: () => books().select('id').order('year', { ascending: false, nullsFirst: false }),
  order_nulls_first: () => books().select('id').order('year', { nullsFirst: true }),
  order_two_columns: () => books().select('id').order('author_id').order('year', { ascending: false }),
  order_referenced: () => anon.from('authors').select('id,books(id)').eq('id', 1)
    .order('year', { referencedTable: 'books' }),
  limit: () => anon.from('numbers').select('n').order('n').limit(3),
  range: () => anon.from('numbers').select('n').order('n').range(10, 12),
  limit_referenced: () => anon.from('authors').select('id,books(id)').in('id', [1, 2]).order('id')
    .order('id', { referencedTable: 'books', ascending: false }).limit(1, { referencedTable: 'books' }),
  embed_to_one: () => anon.from('books').select('id,authors(name)').eq('id', 1),
  embed_to_many: () => anon.from('authors').select('id,books(id)').eq('id', 2).order('id', { referencedTable: 'books' }),
  embed_many_to_many: () => anon.from('books').select('id,genres(name)').eq('id', 4)
    .order('name', { referencedTable: 'genres' }),
  embed_hint: () => anon.from('letters').select('id,sender:people!letters_sender_fk(name)').eq('id', 2),
  embed_inner: () => anon.from('authors').select('id,books!inner(id)').gt('books.year', 1970).order('id'),
  embed_spread: () => anon.from('books').select('title,...authors(author_name:name)').eq('id', 3),
  embed_ambiguous: () => anon.from('letters').select('id,people(name)'),
  embed_no_relationship: () => anon.from('authors').select('id,genres(name)'),
  single: () => anon.from('authors').select('id,name').eq('id', 1).single(),
  single_none: () => anon.from('authors').select('id').eq('id', 99).single(),
  single_many: () => anon.from('authors').select('id').single(),
  maybe_single_none: () => anon.from('authors').select('id').eq('id', 99).maybeSingle(),
  maybe_single_one: () => anon.from('authors').select('id').eq('id', 2).maybeSingle(),
  maybe_single_many: () => anon.from('authors').select('id').maybeSingle(),
  csv: () => anon.from('genres').select('id,name').order('id').csv(),
  explain_disabled: () => anon.from('authors').select('id').explain(),
  geojson_without_postgis: () => anon.from('authors').select('id').geojson(),
  not_operator_in_or: () => ids().or('id.not.gt.1,id.eq.6'),
  strip_nulls: () => anon.from('authors').select('id,country').in('id', [3, 4]).order('id').stripNulls(),
  count_exact_head: () => anon.from('authors').select('*', { count: 'exact', head: true }),
  count_exact_with_rows: () => anon.from('numbers').select('n', { count: 'exact' }).order('n').limit(2),
  count_planned_head: () => anon.from('numbers').select('*', { count: 'planned', head: true }),
  count_estimated_head: () => anon.from('authors').select('*', { count: 'estimated', head: true }),
  missing_table: () => anon.from('nope').select(),
  unknown_column: () => anon.from('books').select('nope'),
  bad_value: () => ids().eq('id', 'abc'),
  schema_switch: () => anon.schema('fixture_alt').from('gadgets').select('name').order('id'),
  insert_minimal: () => anon.from('items').insert({ name: 'js-minimal' }),
  insert_select: () => anon.from('items').insert({ name: 'js-fig', qty: 2 }).select('name,qty,note'),
  insert_bulk_mixed_keys: () => anon.from('items').insert([{ name: 'js-a', qty: 1 }, { name: 'js-b', note: 'n' }],
    { defaultToNull: false }).select('name,qty,note'),
  insert_embed: () => anon.from('items').insert({ name: 'js-kiwi', category_id: 1 }).select('name,categories(name)'),
  insert_count: () => anon.from('items').insert([{ name: 'js-c1' }, { name: 'js-c2' }], { count: 'exact' }),
  insert_single: () => anon.from('items').insert({ name: 'js-single' }).select('name').single(),
  insert_conflict: () => anon.from('items').insert({ name: 'apple' }),
  insert_check_violation: () => anon.from('items').insert({ name: 'js-neg', qty: -1 }),
  insert_unknown_column: () => anon.from('items').insert({ name: 'js-z', nope: 1 }),
  insert_rollback: () => anon.from('items').insert({ name: 'js-ghost' }).select('name').rollback(),
  after_rollback: () => anon.from('items').select('name').eq('name', 'js-ghost'),
  upsert_merge: () => anon.from('kv').upsert([{ key: 'a', value: 'js-uno' }, { key: 'js', value: 'new' }])
    .select(),
  upsert_on_conflict: () => anon.from('items').upsert({ name: 'pear', qty: 11 }, { onConflict: 'name' })
    .select('name,qty'),
  upsert_ignore: () => anon.from('kv').upsert({ key: 'b', value: 'ignored' }, { ignoreDuplicates: true }).select(),
  after_upsert_ignore: () => anon.from('kv').select('value').eq('key', 'b'),
  update: () => anon.from('items').update({ qty: 9 }).eq('name', 'js-fig').select('name,qty'),
  update_minimal: () => anon.from('items').update({ note: 'js' }).eq('name', 'js-fig'),
  update_none: () => anon.from('items').update({ qty: 1 }).eq('name', 'nothing').select(),
  update_max_affected: () => anon.from('items').update({ qty: 1 }).like('name', 'js-%').maxAffected(1),
  delete: () => anon.from('items').delete().eq('name', 'js-fig').select('name'),
  delete_minimal: () => anon.from('items').delete().eq('name', 'js-minimal'),
  delete_count: () => anon.from('items').delete({ count: 'exact' }).in('name', ['js-c1', 'js-c2']),
  rpc_scalar: () => anon.rpc('add', { a: 1, b: 2 }),
  rpc_get: () => anon.rpc('add', { a: 2, b: 2 }, { get: true }),
  rpc_setof_filtered: () => anon.rpc('books_of', { author: 1 }).select('id').gt('year', 1970),
  rpc_setof_order_limit: () => anon.rpc('books_of', { author: 2 }).select('title').order('id').limit(1),
  rpc_head_count: () => anon.rpc('books_of', { author: 1 }, { head: true, count: 'exact' }),
  rpc_single: () => anon.rpc('books_of', { author: 3 }).select('title').single(),
  rpc_void: () => anon.rpc('bump', { item: 'hammer' }),
  rpc_variadic: () => anon.rpc('total', { nums: [1, 2, 3] }),
  rpc_json_body: () => anon.rpc('echo', { x: 1, y: [true, null] }),
  rpc_no_args: () => anon.rpc('no_args'),
  rpc_array_get: () => anon.rpc('array_param', { tags: ['a', 'b', 'c'] }, { get: true }),
  rpc_missing: () => anon.rpc('nope'),
  rpc_ambiguous: () => anon.rpc('pick', { v: 1 }),
  rpc_raise: () => anon.rpc('raise_state', { state: 'PT429' }),
  rpc_schema_switch: () => anon.schema('fixture_alt').rpc('add', { a: 2, b: 3 }),
  service_role: () => service.rpc('whoami'),
  user_role: () => alice.rpc('whoami'),
  user_rls_select: () => alice.from('notes').select('body'),
  anon_rls_select: () => anon.from('notes').select('body'),
  user_rls_insert: () => alice.from('notes').insert({ body: 'from js' }).select('body'),
  user_rls_insert_forged_owner: () => alice.from('notes')
    .insert({ body: 'forged', owner: '22222222-2222-4222-8222-222222222222' }),
  anon_no_grant: () => anon.from('secrets').select(),
  user_grant: () => alice.from('secrets').select('body'),
}

const results = {}
for (const [name, operation] of Object.entries(operations)) {
  try {
    const response = await operation()
    if (response === null) {
      results[name] = { skipped: true }
      continue
    }
    const { data, error, count, status } = response
    results[name] = { data: data ?? null, error: error ?? null, count: count ?? null, status }
  } catch (exception) {
    results[name] = { thrown: String(exception && exception.stack ? exception.stack : exception) }
  }
}
process.stdout.write(JSON.stringify(results) + '\n')
process.exit(0)
