// Kysely table types for the tuneloop database (labeling app: accounts, projects, comparisons,
// leases, rankings, preference pairs, outbox). Timestamps are epoch milliseconds; booleans are 0/1.
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  role: 'admin' | 'annotator';
  created_at: number;
}

export interface SessionsTable {
  /** sha256 of the cookie token (the token itself is never stored). */
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

export interface ProjectsTable {
  id: string;
  name: string;
  guidelines: string;
  annotators_per_item: number;
  k: number;
  current_round: number;
  created_at: number;
}

export interface ComparisonsTable {
  id: string;
  project_id: string;
  round: number;
  /** 'text' (prompt is a string) or 'messages' (prompt is a JSON chat history). */
  prompt_kind: 'text' | 'messages';
  prompt: string;
  /** JSON array of K response strings. */
  responses: string;
  /** Annotator slots still free: annotators_per_item minus active leases and submissions. */
  open_slots: number;
  source_line: number | null;
  created_at: number;
}

export interface AssignmentsTable {
  id: string;
  comparison_id: string;
  project_id: string;
  user_id: string;
  status: 'leased' | 'submitted' | 'skipped' | 'expired';
  /** JSON permutation: position p on screen shows response response_order[p]. */
  response_order: string;
  leased_at: number;
  expires_at: number;
  updated_at: number;
}

export interface RankingsTable {
  id: string;
  assignment_id: string;
  comparison_id: string;
  project_id: string;
  user_id: string;
  round: number;
  /** JSON number[][]: groups of original response indices, best first; a group of 2+ is a tie. */
  ranking: string;
  both_bad: number;
  strength: 'slightly' | 'much' | null;
  comment: string | null;
  response_order: string;
  duration_ms: number | null;
  created_at: number;
}

export interface PreferencePairsTable {
  id: string;
  ranking_id: string;
  comparison_id: string;
  project_id: string;
  user_id: string;
  round: number;
  chosen_index: number;
  rejected_index: number;
  margin: number | null;
  strength: 'slightly' | 'much' | null;
  created_at: number;
}

export interface OutboxTable {
  /** UUID: also the NATS dedup id (Nats-Msg-Id), so it must be globally unique. */
  id: string;
  subject: string;
  payload: string;
  /** The ranking this row announces (undo deletes unsent rows by it). */
  ranking_id: string | null;
  created_at: number;
  /** Not published before this time (the undo grace window). */
  available_at: number;
  sent_at: number | null;
  attempts: number;
  last_error: string | null;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  projects: ProjectsTable;
  comparisons: ComparisonsTable;
  assignments: AssignmentsTable;
  rankings: RankingsTable;
  preference_pairs: PreferencePairsTable;
  outbox: OutboxTable;
}
