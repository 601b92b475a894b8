import type { User } from '../../core/model.js';
import type { UserFields } from '../../core/ports/store.js';

/**
 * The users table's row shape and its mapping to the domain, shared by every SQL store (the column
 * names are the same in each dialect; integers arrive as numbers in each driver).
 */
/** A users row as read. */
export interface UserRow {
  id: string;
  name: string;
  display_name: string;
  portrait: string;
  gender: number;
  mobile: string;
  email: string;
  address: string;
  company: string;
  social: string;
  extra: string;
  type: number;
  role: string;
  status: number;
  updated_at: number;
}

export function toUser(r: UserRow): User {
  return {
    userId: r.id,
    name: r.name,
    displayName: r.display_name,
    portrait: r.portrait,
    gender: r.gender,
    mobile: r.mobile,
    email: r.email,
    address: r.address,
    company: r.company,
    social: r.social,
    extra: r.extra,
    type: r.type,
    role: r.role === 'operator' ? 'operator' : 'user',
    status: r.status,
    updateDt: r.updated_at,
  };
}

/** UserFields key → column (a fixed list: the only names ever put in SQL text). */
export const USER_COLUMNS: Record<keyof UserFields, string> = {
  name: 'name',
  displayName: 'display_name',
  portrait: 'portrait',
  gender: 'gender',
  mobile: 'mobile',
  email: 'email',
  address: 'address',
  company: 'company',
  social: 'social',
  extra: 'extra',
  type: 'type',
};

export const USER_COLS =
  'id, name, display_name, portrait, gender, mobile, email, address, company, social, extra, type, role, status, updated_at';
