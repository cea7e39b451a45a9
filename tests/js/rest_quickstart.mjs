// postgrest-js (the client supabase-js 2.119 wraps for .from() / .rpc()) against the local /rest/v1
// (tests/test_rest_js.py), with the headers supabase-js sends. Node 20 has no native WebSocket, which
// createClient() now insists on, so the Data API client is used directly.
// Prints one JSON object: {name: {data, error, count, status}}.
import { PostgrestClient } from "@supabase/postgrest-js";

const [url, key] = process.argv.slice(2);
const supabase = new PostgrestClient(`${url}/rest/v1`, {
  headers: { apikey: key, Authorization: `Bearer ${key}` }, schema: "api",
});
const out = {};
const keep = (name, r) => { out[name] = { data: r.data, error: r.error, count: r.count ?? null, status: r.status }; };

keep("select", await supabase.from("clients").select("id, name, projects(name)").order("id").limit(1));
keep("filters", await supabase.from("items").select("name").in("id", [1, 3]).ilike("name", "%a%").order("id"));
keep("count", await supabase.from("projects").select("*", { count: "exact", head: true }));
keep("range", await supabase.from("projects").select("id").order("id").range(1, 2));
keep("single", await supabase.from("clients").select("name").eq("id", 2).single());
keep("maybeSingle", await supabase.from("clients").select("name").eq("id", 99).maybeSingle());
keep("insert", await supabase.from("clients").insert({ id: 500, name: "js" }).select());
keep("upsert", await supabase.from("clients").upsert({ id: 500, name: "js2" }).select());
keep("update", await supabase.from("clients").update({ name: "js3" }).eq("id", 500).select("name"));
keep("delete", await supabase.from("clients").delete().eq("id", 500));
keep("rpc", await supabase.rpc("add", { a: 2, b: 3 }));
keep("rpcGet", await supabase.rpc("projects_of", { client: 2 }, { get: true }).select("name").order("id"));
keep("missing", await supabase.from("nope").select());
keep("csv", await supabase.from("clients").select("id,name").order("id").csv());
console.log(JSON.stringify(out));
