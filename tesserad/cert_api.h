/* Certificate issuance over HTTP (POST /v1/certs). */
#ifndef TSS_CERT_API_H
#define TSS_CERT_API_H

struct web_req;
struct web_resp;

/* arg: struct api.  Answers 201 once the group commit is durable. */
struct web_resp *cert_api_issue(const struct web_req *req, void *arg);

#endif
