/**
 * Upper bounds of every string and list a client can send (admin API bodies and device frames), in
 * characters (Unicode code points) and items. Past one, the input is refused as invalid (251) before
 * anything is stored. docs/security.md lists every field with its bound and why.
 *
 * They are constants, not settings: each is set well above what Wildfire and its clients produce
 * (Wildfire's own columns are 64 characters for ids and names, 1024 for URLs, MySQL TEXT for extras),
 * so a deployment migrating from Wildfire never meets one, while each request's work stays bounded.
 */

/** Ids: users, clients, groups, channels, members, message keys, callback targets (Wildfire: 64). */
export const MAX_ID_LENGTH = 128;

/** Short text: names, aliases, profile fields (mobile, email, address, company, social), secrets. */
export const MAX_TEXT_LENGTH = 1024;

/** URLs: portraits, media URLs, callback URLs (8 KiB: the request line common HTTP servers accept). */
export const MAX_URL_LENGTH = 8192;

/** Application data attached to users, groups, members and channels, and channel descriptions (64 KiB, MySQL TEXT). */
export const MAX_EXTRA_LENGTH = 65536;

/**
 * Each string of a message payload (content, searchableContent, pushContent, pushData,
 * base64edData, extra): 1 MiB, so the body limit (admin.bodyLimitBytes, 1 MiB by default) or the
 * frame limit (gateway.maxFrameBytes, 64 KiB) is what binds.
 */
export const MAX_CONTENT_LENGTH = 1048576;

/**
 * User ids in one request: group members (create, add, del, manager/*), multicast targets and
 * receivers, toUsers, mentionedTarget. 2000 is the default member limit of a group
 * (messaging.maxGroupMembers): a whole default-size group fits in one call, and the work of one call
 * (a membership check and a row per id, in one transaction) stays in the tens of milliseconds.
 */
export const MAX_USER_LIST = 2000;

/**
 * Lines a group change is announced on (`to_lines`). Each line is one announcement message, sent
 * on the request path; Wildfire clients use line 0 and a few more, never more than a handful.
 */
export const MAX_TO_LINES = 16;

/** Commands one callback target subscribes to (there are fewer than 20). */
export const MAX_CALLBACK_COMMANDS = 64;

/** Largest page of a paged list (user/all, group/member/list, user/online_list). */
export const MAX_PAGE_SIZE = 10000;
/** The largest page of a user's conversation list (POST /admin/conversation/list), also its default. */
export const MAX_CONVERSATION_PAGE = 1000;

/** Users one user/get_info_by_email answers with (an email shared by more users is cut there). */
export const MAX_USERS_BY_EMAIL = 100;

/** Owners of one device (device/create): a device belongs to a household or a team, not a crowd. */
export const MAX_DEVICE_OWNERS = 100;

/** Member types one group/of_user_by_type asks for (there are six). */
export const MAX_MEMBER_TYPES = 16;
/** One sensitive word (Wildfire's column: 64 characters). */
export const MAX_SENSITIVE_WORD_LENGTH = 256;

/** Sensitive words in all: the filter is rebuilt from all of them on every change, on every node. */
export const MAX_SENSITIVE_WORDS = 100000;

/** A user setting's key (the SDK's conversation keys are "type-line-target": an id and two ints). */
export const MAX_SETTING_KEY_LENGTH = 256;
/** Notification title (seed 004), in every language: a headline, not a document. */
export const MAX_NOTIFY_TITLE = 1024;

/** Notification body (message_body) in every language: 64 KiB, the size of a long e-mail text. */
export const MAX_NOTIFY_BODY = 65536;

/** Notification message_type and lng (a BCP 47 tag is at most 35 characters; types are short labels). */
export const MAX_NOTIFY_LABEL = 128;

/** Languages a notification may carry besides its own. */
export const MAX_NOTIFY_TRANSLATIONS = 32;

/**
 * Recipients of one notification (send_to): an audience of 100 000 users fits in one add (about
 * 3 MB of JSON with the default cms.bodyLimitBytes of 8 MiB); its inbox rows are written in batches.
 */
export const MAX_NOTIFY_RECIPIENTS = 100000;

/** Largest page of the notification centre's lists (inbox, operator list, recipients). */
export const MAX_NOTIFY_PAGE = 1000;

/** Unknown recipients named in one refusal (the rest are counted). */
export const MAX_NAMED_UNKNOWN = 20;

/** Latest `schedule_at` of a notification: a year ahead (a timer further out is a typo, not a plan). */
export const MAX_SCHEDULE_AHEAD_MS = 366 * 24 * 3600 * 1000;

/** Bounds of `escalate_after_minutes`: 0.01 min (0.6 s, for tests) to 30 days; fractions allowed. */
export const MIN_ESCALATE_MINUTES = 0.01;
export const MAX_ESCALATE_MINUTES = 43200;
/**
 * Channel gateway (docs/channel-gateway.md): contents of one external message (an e-mail's body and
 * attachments; seed 000 apps send a handful), named attributes of a record or contact (seed 000's
 * optional fields; their JSON is bounded by MAX_EXTRA_LENGTH too), and the largest page of contacts.
 */
export const MAX_CHANNEL_CONTENTS = 64;
export const MAX_CHANNEL_ATTRIBUTES = 64;
export const MAX_CONTACT_PAGE = 1000;
