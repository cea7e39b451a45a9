// Compiled by tests/test_typegen.py with tsc: supabase-js typed by our generated Database type. Must compile.
import { createClient } from "@supabase/supabase-js"
import type { Database, Enums, Tables, TablesInsert, TablesUpdate } from "../../../supabase/types/database.types"
import { Constants } from "../../../supabase/types/database.types"

const supabase = createClient<Database>("http://127.0.0.1:54321", "sb_publishable_key")

export async function typed(): Promise<void> {
  // a table: the selected columns are typed, filters take the column's type
  const { data: projects } = await supabase.from("projects").select("id, name, organization_id").eq("name", "x")
  const names: string[] = (projects ?? []).map((project) => project.name)

  // an embedded relation through a foreign key, and an enum column
  const { data: tasks } = await supabase.from("tasks").select("id, title, status, projects(name)").limit(5)
  const statuses: Enums<"task_status">[] = (tasks ?? []).map((task) => task.status)

  // insert / update shapes
  const task: TablesInsert<"tasks"> = {
    organization_id: "00000000-0000-0000-0000-000000000000",
    project_id: "00000000-0000-0000-0000-000000000000",
    title: "write the types",
  }
  const change: TablesUpdate<"tasks"> = { status: "done" }
  await supabase.from("tasks").insert(task)
  await supabase.from("tasks").update(change).eq("id", "00000000-0000-0000-0000-000000000000")

  // RPCs: argument names and types, and the returned rows
  const { data: generation } = await supabase.rpc("request_generation", { prompt: "a landing page" })
  const json: Database["public"]["Tables"]["generations"]["Row"]["status"] | unknown = generation
  const { data: unread } = await supabase.rpc("unread_counts")
  const counts: number[] = (unread ?? []).map((row) => row.unread_count)
  const { data: org } = await supabase.rpc("create_organization", { name: "Acme", slug: "acme" })
  const slug: string | undefined = org?.slug

  const row: Tables<"organizations"> | null = null
  const roles: readonly string[] = Constants.public.Enums.org_role
  console.log(names, statuses, json, counts, slug, row, roles)
}
