// Compiled by tests/test_typegen.py with tsc: every line marked "type error" must fail. Must NOT compile.
import { createClient } from "@supabase/supabase-js"
import type { Database, TablesInsert } from "../../../supabase/types/database.types"

const supabase = createClient<Database>("http://127.0.0.1:54321", "sb_publishable_key")

export async function wrong(): Promise<void> {
  await supabase.from("projects").select("*").eq("no_such_column", "x") // type error: a column projects lacks
  await supabase.from("no_such_table").select("*") // type error: a table that does not exist
  const { data } = await supabase.from("projects").select("id, name").single()
  const missing: string | undefined = data?.description // type error: a column not selected
  const task: TablesInsert<"tasks"> = { organization_id: "o", project_id: "p", title: "t", status: "finished" } // type error: not a task_status
  await supabase.rpc("request_generation", { prompt: 42 }) // type error: prompt is text
  await supabase.rpc("no_such_function") // type error: an RPC that does not exist
  console.log(missing, task)
}
