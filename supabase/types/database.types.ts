export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  // Allows to automatically instantiate createClient with right options
  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)
  __InternalSupabase: {
    PostgrestVersion: "13.0.5"
  }
  public: {
    Tables: {
      backups: {
        Row: {
          created_at: string
          error: string | null
          expired_at: string | null
          export_url: string | null
          finished_at: string | null
          id: string
          organization_id: string
          plan_id: string
          provider: string | null
          reason: string
          sha256: string | null
          size_bytes: number | null
          slot: string | null
          snapshot: Json
          snapshot_id: string | null
          started_at: string | null
          status: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          error?: string | null
          expired_at?: string | null
          export_url?: string | null
          finished_at?: string | null
          id?: string
          organization_id: string
          plan_id: string
          provider?: string | null
          reason?: string
          sha256?: string | null
          size_bytes?: number | null
          slot?: string | null
          snapshot?: Json
          snapshot_id?: string | null
          started_at?: string | null
          status?: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          error?: string | null
          expired_at?: string | null
          export_url?: string | null
          finished_at?: string | null
          id?: string
          organization_id?: string
          plan_id?: string
          provider?: string | null
          reason?: string
          sha256?: string | null
          size_bytes?: number | null
          slot?: string | null
          snapshot?: Json
          snapshot_id?: string | null
          started_at?: string | null
          status?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "backups_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      billing_customers: {
        Row: {
          created_at: string
          deleted_at: string | null
          email: string | null
          last_event_at: string | null
          organization_id: string
          stripe_customer_id: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          deleted_at?: string | null
          email?: string | null
          last_event_at?: string | null
          organization_id: string
          stripe_customer_id: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          deleted_at?: string | null
          email?: string | null
          last_event_at?: string | null
          organization_id?: string
          stripe_customer_id?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "billing_customers_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: true
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      channel_contacts: {
        Row: {
          address: string
          channel: string
          conversation_id: string | null
          created_at: string
          display_name: string | null
          id: string
          opted_out_at: string | null
          organization_id: string
          updated_at: string
        }
        Insert: {
          address: string
          channel: string
          conversation_id?: string | null
          created_at?: string
          display_name?: string | null
          id?: string
          opted_out_at?: string | null
          organization_id: string
          updated_at?: string
        }
        Update: {
          address?: string
          channel?: string
          conversation_id?: string | null
          created_at?: string
          display_name?: string | null
          id?: string
          opted_out_at?: string | null
          organization_id?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "channel_contacts_conversation_id_fkey"
            columns: ["conversation_id"]
            isOneToOne: true
            referencedRelation: "conversations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "channel_contacts_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      channel_senders: {
        Row: {
          address: string
          channel: string
          created_at: string
          id: string
          organization_id: string
        }
        Insert: {
          address: string
          channel: string
          created_at?: string
          id?: string
          organization_id: string
        }
        Update: {
          address?: string
          channel?: string
          created_at?: string
          id?: string
          organization_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "channel_senders_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      conversation_participants: {
        Row: {
          conversation_id: string
          joined_at: string
          last_read_at: string | null
          muted: boolean
          organization_id: string
          role: string
          user_id: string
        }
        Insert: {
          conversation_id: string
          joined_at?: string
          last_read_at?: string | null
          muted?: boolean
          organization_id: string
          role?: string
          user_id: string
        }
        Update: {
          conversation_id?: string
          joined_at?: string
          last_read_at?: string | null
          muted?: boolean
          organization_id?: string
          role?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "conversation_participants_conversation_id_fkey"
            columns: ["conversation_id"]
            isOneToOne: false
            referencedRelation: "conversations"
            referencedColumns: ["id"]
          },
        ]
      }
      conversations: {
        Row: {
          created_at: string
          created_by: string | null
          direct_user_high: string | null
          direct_user_low: string | null
          id: string
          kind: string
          organization_id: string
          title: string | null
          updated_at: string
        }
        Insert: {
          created_at?: string
          created_by?: string | null
          direct_user_high?: string | null
          direct_user_low?: string | null
          id?: string
          kind?: string
          organization_id: string
          title?: string | null
          updated_at?: string
        }
        Update: {
          created_at?: string
          created_by?: string | null
          direct_user_high?: string | null
          direct_user_low?: string | null
          id?: string
          kind?: string
          organization_id?: string
          title?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "conversations_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      customer_infrastructure: {
        Row: {
          created_at: string
          last_run_id: string | null
          organization_id: string
          plan_id: string | null
          provider: string | null
          public_address: string | null
          resources: Json
          status: string
          subdomain: string | null
          updated_at: string
        }
        Insert: {
          created_at?: string
          last_run_id?: string | null
          organization_id: string
          plan_id?: string | null
          provider?: string | null
          public_address?: string | null
          resources?: Json
          status?: string
          subdomain?: string | null
          updated_at?: string
        }
        Update: {
          created_at?: string
          last_run_id?: string | null
          organization_id?: string
          plan_id?: string | null
          provider?: string | null
          public_address?: string | null
          resources?: Json
          status?: string
          subdomain?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "customer_infrastructure_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: true
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      generations: {
        Row: {
          app_type: string
          attempts: number
          completed_at: string | null
          created_at: string
          duration_ms: number | null
          error_message: string | null
          id: string
          input_tokens: number | null
          job_id: number | null
          model: string | null
          organization_id: string
          output_tokens: number | null
          prompt: string
          result: string | null
          started_at: string | null
          status: string
          updated_at: string
          user_id: string | null
        }
        Insert: {
          app_type?: string
          attempts?: number
          completed_at?: string | null
          created_at?: string
          duration_ms?: number | null
          error_message?: string | null
          id?: string
          input_tokens?: number | null
          job_id?: number | null
          model?: string | null
          organization_id: string
          output_tokens?: number | null
          prompt: string
          result?: string | null
          started_at?: string | null
          status?: string
          updated_at?: string
          user_id?: string | null
        }
        Update: {
          app_type?: string
          attempts?: number
          completed_at?: string | null
          created_at?: string
          duration_ms?: number | null
          error_message?: string | null
          id?: string
          input_tokens?: number | null
          job_id?: number | null
          model?: string | null
          organization_id?: string
          output_tokens?: number | null
          prompt?: string
          result?: string | null
          started_at?: string | null
          status?: string
          updated_at?: string
          user_id?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "generations_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      infrastructure_usage: {
        Row: {
          bandwidth_bytes: number | null
          collected_at: string
          day: string
          organization_id: string
          period_start: string
          sources: Json
          storage_bytes: number | null
          users: number
        }
        Insert: {
          bandwidth_bytes?: number | null
          collected_at?: string
          day: string
          organization_id: string
          period_start: string
          sources?: Json
          storage_bytes?: number | null
          users: number
        }
        Update: {
          bandwidth_bytes?: number | null
          collected_at?: string
          day?: string
          organization_id?: string
          period_start?: string
          sources?: Json
          storage_bytes?: number | null
          users?: number
        }
        Relationships: [
          {
            foreignKeyName: "infrastructure_usage_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      instance_health_checks: {
        Row: {
          checked_at: string
          error: string | null
          http_status: number | null
          id: number
          instance_ok: boolean
          instance_state: string
          latency_ms: number | null
          organization_id: string
          previous_status: string | null
          provider: string | null
          status: string
          timed_out: boolean
          url: string | null
        }
        Insert: {
          checked_at?: string
          error?: string | null
          http_status?: number | null
          id?: never
          instance_ok: boolean
          instance_state: string
          latency_ms?: number | null
          organization_id: string
          previous_status?: string | null
          provider?: string | null
          status: string
          timed_out?: boolean
          url?: string | null
        }
        Update: {
          checked_at?: string
          error?: string | null
          http_status?: number | null
          id?: never
          instance_ok?: boolean
          instance_state?: string
          latency_ms?: number | null
          organization_id?: string
          previous_status?: string | null
          provider?: string | null
          status?: string
          timed_out?: boolean
          url?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "instance_health_checks_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      invitations: {
        Row: {
          accepted_at: string | null
          accepted_by: string | null
          created_at: string
          email: string
          expires_at: string
          id: string
          invited_by: string | null
          organization_id: string
          revoked_at: string | null
          role: Database["public"]["Enums"]["org_role"]
          token_hash: string
        }
        Insert: {
          accepted_at?: string | null
          accepted_by?: string | null
          created_at?: string
          email: string
          expires_at?: string
          id?: string
          invited_by?: string | null
          organization_id: string
          revoked_at?: string | null
          role?: Database["public"]["Enums"]["org_role"]
          token_hash: string
        }
        Update: {
          accepted_at?: string | null
          accepted_by?: string | null
          created_at?: string
          email?: string
          expires_at?: string
          id?: string
          invited_by?: string | null
          organization_id?: string
          revoked_at?: string | null
          role?: Database["public"]["Enums"]["org_role"]
          token_hash?: string
        }
        Relationships: [
          {
            foreignKeyName: "invitations_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      invoices: {
        Row: {
          amount_due: number
          amount_paid: number
          amount_remaining: number
          attempt_count: number
          created_at: string
          currency: string
          due_date: string | null
          hosted_invoice_url: string | null
          id: string
          invoice_pdf: string | null
          last_event_at: string
          next_payment_attempt: string | null
          number: string | null
          organization_id: string
          paid_at: string | null
          period_end: string | null
          period_start: string | null
          status: string | null
          stripe_created_at: string | null
          stripe_customer_id: string
          stripe_invoice_id: string
          stripe_subscription_id: string | null
          subtotal: number | null
          total: number | null
          updated_at: string
        }
        Insert: {
          amount_due?: number
          amount_paid?: number
          amount_remaining?: number
          attempt_count?: number
          created_at?: string
          currency: string
          due_date?: string | null
          hosted_invoice_url?: string | null
          id?: string
          invoice_pdf?: string | null
          last_event_at: string
          next_payment_attempt?: string | null
          number?: string | null
          organization_id: string
          paid_at?: string | null
          period_end?: string | null
          period_start?: string | null
          status?: string | null
          stripe_created_at?: string | null
          stripe_customer_id: string
          stripe_invoice_id: string
          stripe_subscription_id?: string | null
          subtotal?: number | null
          total?: number | null
          updated_at?: string
        }
        Update: {
          amount_due?: number
          amount_paid?: number
          amount_remaining?: number
          attempt_count?: number
          created_at?: string
          currency?: string
          due_date?: string | null
          hosted_invoice_url?: string | null
          id?: string
          invoice_pdf?: string | null
          last_event_at?: string
          next_payment_attempt?: string | null
          number?: string | null
          organization_id?: string
          paid_at?: string | null
          period_end?: string | null
          period_start?: string | null
          status?: string | null
          stripe_created_at?: string | null
          stripe_customer_id?: string
          stripe_invoice_id?: string
          stripe_subscription_id?: string | null
          subtotal?: number | null
          total?: number | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "invoices_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      memberships: {
        Row: {
          created_at: string
          organization_id: string
          role: Database["public"]["Enums"]["org_role"]
          updated_at: string
          user_id: string
        }
        Insert: {
          created_at?: string
          organization_id: string
          role?: Database["public"]["Enums"]["org_role"]
          updated_at?: string
          user_id: string
        }
        Update: {
          created_at?: string
          organization_id?: string
          role?: Database["public"]["Enums"]["org_role"]
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "memberships_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      message_deliveries: {
        Row: {
          channel: string
          contact_id: string | null
          conversation_id: string
          created_at: string
          direction: string
          error_code: string | null
          error_message: string | null
          media: Json
          message_id: string
          organization_id: string
          status: string
          status_at: string
          twilio_sid: string | null
        }
        Insert: {
          channel: string
          contact_id?: string | null
          conversation_id: string
          created_at?: string
          direction: string
          error_code?: string | null
          error_message?: string | null
          media?: Json
          message_id: string
          organization_id: string
          status: string
          status_at?: string
          twilio_sid?: string | null
        }
        Update: {
          channel?: string
          contact_id?: string | null
          conversation_id?: string
          created_at?: string
          direction?: string
          error_code?: string | null
          error_message?: string | null
          media?: Json
          message_id?: string
          organization_id?: string
          status?: string
          status_at?: string
          twilio_sid?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "message_deliveries_contact_id_fkey"
            columns: ["contact_id"]
            isOneToOne: false
            referencedRelation: "channel_contacts"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "message_deliveries_message_id_fkey"
            columns: ["message_id"]
            isOneToOne: true
            referencedRelation: "messages"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "message_deliveries_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      messages: {
        Row: {
          attachments: Json
          body: string
          conversation_id: string
          created_at: string
          deleted_at: string | null
          deleted_by: string | null
          edited_at: string | null
          id: string
          organization_id: string
          reply_to: string | null
          sender_id: string | null
        }
        Insert: {
          attachments?: Json
          body?: string
          conversation_id: string
          created_at?: string
          deleted_at?: string | null
          deleted_by?: string | null
          edited_at?: string | null
          id?: string
          organization_id: string
          reply_to?: string | null
          sender_id?: string | null
        }
        Update: {
          attachments?: Json
          body?: string
          conversation_id?: string
          created_at?: string
          deleted_at?: string | null
          deleted_by?: string | null
          edited_at?: string | null
          id?: string
          organization_id?: string
          reply_to?: string | null
          sender_id?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "messages_conversation_id_fkey"
            columns: ["conversation_id"]
            isOneToOne: false
            referencedRelation: "conversations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "messages_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "messages_reply_to_fkey"
            columns: ["reply_to"]
            isOneToOne: false
            referencedRelation: "messages"
            referencedColumns: ["id"]
          },
        ]
      }
      organizations: {
        Row: {
          created_at: string
          created_by: string | null
          id: string
          name: string
          slug: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          created_by?: string | null
          id?: string
          name: string
          slug: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          created_by?: string | null
          id?: string
          name?: string
          slug?: string
          updated_at?: string
        }
        Relationships: []
      }
      plans: {
        Row: {
          active: boolean
          channel_messages_monthly_limit: number | null
          created_at: string
          currency: string
          daily_generation_limit: number | null
          description: string
          features: Json
          id: string
          monthly_generation_limit: number | null
          monthly_price_cents: number
          name: string
          queue_priority: number
          stripe_price_monthly: string | null
          stripe_price_yearly: string | null
          stripe_product_id: string | null
          stripe_synced_at: string | null
          trial_days: number
          updated_at: string
          yearly_price_cents: number
        }
        Insert: {
          active?: boolean
          channel_messages_monthly_limit?: number | null
          created_at?: string
          currency?: string
          daily_generation_limit?: number | null
          description?: string
          features?: Json
          id: string
          monthly_generation_limit?: number | null
          monthly_price_cents?: number
          name: string
          queue_priority?: number
          stripe_price_monthly?: string | null
          stripe_price_yearly?: string | null
          stripe_product_id?: string | null
          stripe_synced_at?: string | null
          trial_days?: number
          updated_at?: string
          yearly_price_cents?: number
        }
        Update: {
          active?: boolean
          channel_messages_monthly_limit?: number | null
          created_at?: string
          currency?: string
          daily_generation_limit?: number | null
          description?: string
          features?: Json
          id?: string
          monthly_generation_limit?: number | null
          monthly_price_cents?: number
          name?: string
          queue_priority?: number
          stripe_price_monthly?: string | null
          stripe_price_yearly?: string | null
          stripe_product_id?: string | null
          stripe_synced_at?: string | null
          trial_days?: number
          updated_at?: string
          yearly_price_cents?: number
        }
        Relationships: []
      }
      profiles: {
        Row: {
          avatar_url: string | null
          created_at: string
          full_name: string | null
          id: string
          updated_at: string
        }
        Insert: {
          avatar_url?: string | null
          created_at?: string
          full_name?: string | null
          id: string
          updated_at?: string
        }
        Update: {
          avatar_url?: string | null
          created_at?: string
          full_name?: string | null
          id?: string
          updated_at?: string
        }
        Relationships: []
      }
      projects: {
        Row: {
          archived_at: string | null
          created_at: string
          created_by: string | null
          description: string | null
          id: string
          name: string
          organization_id: string
          updated_at: string
        }
        Insert: {
          archived_at?: string | null
          created_at?: string
          created_by?: string | null
          description?: string | null
          id?: string
          name: string
          organization_id: string
          updated_at?: string
        }
        Update: {
          archived_at?: string | null
          created_at?: string
          created_by?: string | null
          description?: string | null
          id?: string
          name?: string
          organization_id?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "projects_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      provisioning_logs: {
        Row: {
          created_at: string
          data: Json
          id: number
          level: string
          message: string
          organization_id: string
          run_id: string
          step_name: string | null
        }
        Insert: {
          created_at?: string
          data?: Json
          id?: never
          level?: string
          message: string
          organization_id: string
          run_id: string
          step_name?: string | null
        }
        Update: {
          created_at?: string
          data?: Json
          id?: never
          level?: string
          message?: string
          organization_id?: string
          run_id?: string
          step_name?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "provisioning_logs_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "provisioning_logs_run_id_fkey"
            columns: ["run_id"]
            isOneToOne: false
            referencedRelation: "provisioning_runs"
            referencedColumns: ["id"]
          },
        ]
      }
      provisioning_runs: {
        Row: {
          backup_id: string | null
          created_at: string
          current_step: string | null
          error: string | null
          finished_at: string | null
          id: string
          instance_type: string | null
          job_id: number | null
          kind: string
          organization_id: string
          plan_id: string
          previous_instance_type: string | null
          previous_plan_id: string | null
          provider: string | null
          reason: string
          started_at: string | null
          status: string
          updated_at: string
        }
        Insert: {
          backup_id?: string | null
          created_at?: string
          current_step?: string | null
          error?: string | null
          finished_at?: string | null
          id?: string
          instance_type?: string | null
          job_id?: number | null
          kind?: string
          organization_id: string
          plan_id: string
          previous_instance_type?: string | null
          previous_plan_id?: string | null
          provider?: string | null
          reason?: string
          started_at?: string | null
          status?: string
          updated_at?: string
        }
        Update: {
          backup_id?: string | null
          created_at?: string
          current_step?: string | null
          error?: string | null
          finished_at?: string | null
          id?: string
          instance_type?: string | null
          job_id?: number | null
          kind?: string
          organization_id?: string
          plan_id?: string
          previous_instance_type?: string | null
          previous_plan_id?: string | null
          provider?: string | null
          reason?: string
          started_at?: string | null
          status?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "provisioning_runs_backup_id_fkey"
            columns: ["backup_id"]
            isOneToOne: false
            referencedRelation: "backups"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "provisioning_runs_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      provisioning_steps: {
        Row: {
          attempts: number
          compensated_at: string | null
          created_at: string
          error: string | null
          finished_at: string | null
          id: number
          idempotency_key: string
          name: string
          ordinal: number
          organization_id: string
          output: Json | null
          run_id: string
          started_at: string | null
          status: string
          updated_at: string
        }
        Insert: {
          attempts?: number
          compensated_at?: string | null
          created_at?: string
          error?: string | null
          finished_at?: string | null
          id?: never
          idempotency_key: string
          name: string
          ordinal: number
          organization_id: string
          output?: Json | null
          run_id: string
          started_at?: string | null
          status?: string
          updated_at?: string
        }
        Update: {
          attempts?: number
          compensated_at?: string | null
          created_at?: string
          error?: string | null
          finished_at?: string | null
          id?: never
          idempotency_key?: string
          name?: string
          ordinal?: number
          organization_id?: string
          output?: Json | null
          run_id?: string
          started_at?: string | null
          status?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "provisioning_steps_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "provisioning_steps_run_id_fkey"
            columns: ["run_id"]
            isOneToOne: false
            referencedRelation: "provisioning_runs"
            referencedColumns: ["id"]
          },
        ]
      }
      reply_suggestions: {
        Row: {
          body: string | null
          conversation_id: string
          created_at: string
          error_message: string | null
          id: string
          input_tokens: number | null
          job_id: number | null
          message_id: string
          model: string | null
          organization_id: string
          output_tokens: number | null
          requested_by: string | null
          status: string
          updated_at: string
        }
        Insert: {
          body?: string | null
          conversation_id: string
          created_at?: string
          error_message?: string | null
          id?: string
          input_tokens?: number | null
          job_id?: number | null
          message_id: string
          model?: string | null
          organization_id: string
          output_tokens?: number | null
          requested_by?: string | null
          status?: string
          updated_at?: string
        }
        Update: {
          body?: string | null
          conversation_id?: string
          created_at?: string
          error_message?: string | null
          id?: string
          input_tokens?: number | null
          job_id?: number | null
          message_id?: string
          model?: string | null
          organization_id?: string
          output_tokens?: number | null
          requested_by?: string | null
          status?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "reply_suggestions_conversation_id_fkey"
            columns: ["conversation_id"]
            isOneToOne: false
            referencedRelation: "conversations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "reply_suggestions_message_id_fkey"
            columns: ["message_id"]
            isOneToOne: false
            referencedRelation: "messages"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "reply_suggestions_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      subscriptions: {
        Row: {
          billing_interval: string | null
          cancel_at: string | null
          cancel_at_period_end: boolean
          canceled_at: string | null
          created_at: string
          current_period_end: string | null
          current_period_start: string | null
          ended_at: string | null
          id: string
          last_event_at: string
          last_event_id: string | null
          organization_id: string
          past_due_since: string | null
          plan_id: string
          quantity: number
          status: string
          stripe_customer_id: string
          stripe_price_id: string | null
          stripe_subscription_id: string
          trial_end: string | null
          trial_start: string | null
          updated_at: string
        }
        Insert: {
          billing_interval?: string | null
          cancel_at?: string | null
          cancel_at_period_end?: boolean
          canceled_at?: string | null
          created_at?: string
          current_period_end?: string | null
          current_period_start?: string | null
          ended_at?: string | null
          id?: string
          last_event_at: string
          last_event_id?: string | null
          organization_id: string
          past_due_since?: string | null
          plan_id: string
          quantity?: number
          status: string
          stripe_customer_id: string
          stripe_price_id?: string | null
          stripe_subscription_id: string
          trial_end?: string | null
          trial_start?: string | null
          updated_at?: string
        }
        Update: {
          billing_interval?: string | null
          cancel_at?: string | null
          cancel_at_period_end?: boolean
          canceled_at?: string | null
          created_at?: string
          current_period_end?: string | null
          current_period_start?: string | null
          ended_at?: string | null
          id?: string
          last_event_at?: string
          last_event_id?: string | null
          organization_id?: string
          past_due_since?: string | null
          plan_id?: string
          quantity?: number
          status?: string
          stripe_customer_id?: string
          stripe_price_id?: string | null
          stripe_subscription_id?: string
          trial_end?: string | null
          trial_start?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "subscriptions_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "subscriptions_plan_id_fkey"
            columns: ["plan_id"]
            isOneToOne: false
            referencedRelation: "plans"
            referencedColumns: ["id"]
          },
        ]
      }
      tasks: {
        Row: {
          assignee_id: string | null
          completed_at: string | null
          created_at: string
          created_by: string | null
          description: string | null
          due_on: string | null
          id: string
          organization_id: string
          project_id: string
          status: Database["public"]["Enums"]["task_status"]
          title: string
          updated_at: string
        }
        Insert: {
          assignee_id?: string | null
          completed_at?: string | null
          created_at?: string
          created_by?: string | null
          description?: string | null
          due_on?: string | null
          id?: string
          organization_id: string
          project_id: string
          status?: Database["public"]["Enums"]["task_status"]
          title: string
          updated_at?: string
        }
        Update: {
          assignee_id?: string | null
          completed_at?: string | null
          created_at?: string
          created_by?: string | null
          description?: string | null
          due_on?: string | null
          id?: string
          organization_id?: string
          project_id?: string
          status?: Database["public"]["Enums"]["task_status"]
          title?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "tasks_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "tasks_project_fkey"
            columns: ["project_id", "organization_id"]
            isOneToOne: false
            referencedRelation: "projects"
            referencedColumns: ["id", "organization_id"]
          },
        ]
      }
      usage_counters: {
        Row: {
          generations: number
          input_tokens: number
          organization_id: string
          output_tokens: number
          period: string
          period_start: string
          updated_at: string
          user_id: string
        }
        Insert: {
          generations?: number
          input_tokens?: number
          organization_id: string
          output_tokens?: number
          period: string
          period_start: string
          updated_at?: string
          user_id: string
        }
        Update: {
          generations?: number
          input_tokens?: number
          organization_id?: string
          output_tokens?: number
          period?: string
          period_start?: string
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "usage_counters_organization_id_fkey"
            columns: ["organization_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      accept_invitation: {
        Args: { token: string }
        Returns: {
          created_at: string
          organization_id: string
          role: Database["public"]["Enums"]["org_role"]
          updated_at: string
          user_id: string
        }
      }
      bind_channel_contact: {
        Args: {
          address: string
          channel: string
          conversation_id: string
          display_name?: string
        }
        Returns: {
          address: string
          channel: string
          conversation_id: string | null
          created_at: string
          display_name: string | null
          id: string
          opted_out_at: string | null
          organization_id: string
          updated_at: string
        }
      }
      cancel_generation: {
        Args: { generation_id: string }
        Returns: {
          app_type: string
          attempts: number
          completed_at: string | null
          created_at: string
          duration_ms: number | null
          error_message: string | null
          id: string
          input_tokens: number | null
          job_id: number | null
          model: string | null
          organization_id: string
          output_tokens: number | null
          prompt: string
          result: string | null
          started_at: string | null
          status: string
          updated_at: string
          user_id: string | null
        }
      }
      change_member_role: {
        Args: {
          new_role: Database["public"]["Enums"]["org_role"]
          org_id: string
          user_id: string
        }
        Returns: {
          created_at: string
          organization_id: string
          role: Database["public"]["Enums"]["org_role"]
          updated_at: string
          user_id: string
        }
      }
      create_organization: {
        Args: { name: string; slug: string }
        Returns: {
          created_at: string
          created_by: string | null
          id: string
          name: string
          slug: string
          updated_at: string
        }
      }
      current_user_organizations: {
        Args: never
        Returns: {
          organization_id: string
          name: string
          slug: string
          role: Database["public"]["Enums"]["org_role"]
          joined_at: string
        }[]
      }
      invite_member: {
        Args: {
          email: string
          org_id: string
          role?: Database["public"]["Enums"]["org_role"]
        }
        Returns: {
          invitation_id: string
          token: string
          expires_at: string
        }[]
      }
      leave_organization: { Args: { org_id: string }; Returns: undefined }
      mark_read: { Args: { conversation_id: string }; Returns: string }
      message_activity: {
        Args: { org_id: string; since?: string; until?: string }
        Returns: {
          conversation_id: string
          day: string
          messages: number
          deleted: number
          senders: number
          channel: string
          direction: string
          delivered: number
          failed: number
        }[]
      }
      organization_audit_log: {
        Args: { before_id?: number; max_rows?: number; org_id: string }
        Returns: {
          id: number
          occurred_at: string
          actor_id: string
          actor_role: string
          table_name: string
          operation: string
          record_id: Json
          changes: Json
        }[]
      }
      organization_entitlements: {
        Args: { org_id: string }
        Returns: {
          plan_id: string
          plan_name: string
          daily_generation_limit: number
          monthly_generation_limit: number
          queue_priority: number
          features: Json
          source: string
          subscription_status: string
          access_until: string
        }[]
      }
      provisioning_status: { Args: { org_id: string }; Returns: Json }
      remove_member: {
        Args: { org_id: string; user_id: string }
        Returns: undefined
      }
      request_generation: {
        Args: { app_type?: string; org_id?: string; prompt: string }
        Returns: Json
      }
      request_reply_suggestion: { Args: { message_id: string }; Returns: Json }
      request_restore: { Args: { backup_id: string }; Returns: string }
      revoke_invitation: { Args: { invitation_id: string }; Returns: undefined }
      start_direct_conversation: {
        Args: { org_id?: string; other_user: string }
        Returns: {
          created_at: string
          created_by: string | null
          direct_user_high: string | null
          direct_user_low: string | null
          id: string
          kind: string
          organization_id: string
          title: string | null
          updated_at: string
        }
      }
      unread_counts: {
        Args: never
        Returns: {
          conversation_id: string
          unread_count: number
          last_read_at: string
          muted: boolean
        }[]
      }
    }
    Enums: {
      org_role:
        | "owner"
        | "admin"
        | "manager"
        | "member"
        | "assistant"
        | "client"
      task_status: "todo" | "in_progress" | "blocked" | "done"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {
      org_role: ["owner", "admin", "manager", "member", "assistant", "client"],
      task_status: ["todo", "in_progress", "blocked", "done"],
    },
  },
} as const
