/** The rules of a group change, shared by the SQL adapters; they apply the plan with their own SQL. */
import type { GroupChange, GroupOutcome, SystemEvent } from '../ports/store.js';

export interface GroupPlan {
  event: SystemEvent;
  /** Users who become members. */
  added: number[];
  /** The user who leaves or is removed. */
  leaving: number | undefined;
  /** The new title, for a rename. */
  title: string | undefined;
}

type Refusal = Extract<GroupOutcome, { ok: false }>;

export function planGroupChange(o: {
  convKind: string | undefined;
  actorId: number;
  actor: { role: string; left_seq: number | null } | undefined;
  active: number[];
  change: GroupChange;
  maxMembers: number;
  nameOf: (userId: number) => string;
}): GroupPlan | Refusal {
  const { actor, actorId, active, change } = o;
  if (!o.convKind || !actor || actor.left_seq !== null) return { ok: false, code: 'not_found', message: 'no such conversation' };
  if (o.convKind !== 'group') return { ok: false, code: 'bad_request', message: 'direct conversations have no members to change' };
  if (change.op !== 'leave' && actor.role !== 'admin') return { ok: false, code: 'forbidden', message: 'only admins can do this' };
  const name = o.nameOf(actorId);
  switch (change.op) {
    case 'add': {
      const added = [...new Set(change.userIds)].filter((id) => !active.includes(id));
      if (added.length === 0) return { ok: false, code: 'bad_request', message: 'everyone named is already a member' };
      if (active.length + added.length > o.maxMembers) return { ok: false, code: 'too_large', message: `a group has at most ${o.maxMembers} members` };
      return { event: { event: 'added', actor: name, users: added.map(o.nameOf) }, added, leaving: undefined, title: undefined };
    }
    case 'remove':
      if (change.userId === actorId) return { ok: false, code: 'bad_request', message: 'use leave to leave a group' };
      if (!active.includes(change.userId)) return { ok: false, code: 'not_found', message: 'not a member of this group' };
      return { event: { event: 'removed', actor: name, users: [o.nameOf(change.userId)] }, added: [], leaving: change.userId, title: undefined };
    case 'leave':
      return { event: { event: 'left', actor: name }, added: [], leaving: actorId, title: undefined };
    case 'rename':
      return { event: { event: 'renamed', actor: name, title: change.title }, added: [], leaving: undefined, title: change.title };
  }
}
