import type { Attributes } from '../channel-apps/model.js';

/** What a contact's info URL says about it (seed 000's contact identity fields; others in attributes). */
export interface ContactInfo {
  name?: string;
  avatarUrl?: string;
  originalContactPageUrl?: string;
  screenName?: string;
  attributes?: Attributes;
}

/**
 * Reads a contact's `originalContactInfoUrl` (seed 000 `POST contact/{id}`). Implementations bound
 * the time and the size of the answer and refuse private addresses unless configured otherwise; a
 * refusal or failure is a CoreError (invalid_parameter: the URL is not allowed or not JSON; timeout;
 * server_error: unreachable or an HTTP error).
 */
export interface ContactInfoSource {
  fetch(url: string): Promise<ContactInfo>;
}
