/*
 * self_api: what every signed-in user does to their own account
 * (docs/api.md, "Your account"): list and end sessions, change the
 * password, regenerate recovery codes.  Every handler takes the struct
 * api as its arg; writes need the CSRF header from cookie callers.
 */
#ifndef TSS_SELF_API_H
#define TSS_SELF_API_H

struct web_req;
struct web_resp;

struct web_resp *self_api_sessions(const struct web_req *req, void *arg);
struct web_resp *self_api_session_end(const struct web_req *req, void *arg);
struct web_resp *self_api_end_others(const struct web_req *req, void *arg);
struct web_resp *self_api_password(const struct web_req *req, void *arg);
struct web_resp *self_api_recovery(const struct web_req *req, void *arg);

#endif
