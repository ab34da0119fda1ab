// Package httpapi is a small JSON HTTP API through which any application
// can queue store media uploads and read their results: the server behind
// "enqueue serve".
//
// # Endpoints
//
//	POST /v1/uploads       queue a file (JSON with a path, or multipart with the file)
//	GET  /v1/uploads/{id}  read a task's state and result (?wait=30s: long poll)
//	POST /v1/merchants     authorize a merchant with its app_auth_code ({"code","requeue"})
//	GET  /v1/merchants     list the authorized merchants (GET, DELETE /v1/merchants/{id},
//	                       POST /v1/merchants/{id}/refresh); never a token
//	GET  /openapi.yaml     the OpenAPI 3 description (no token needed)
//	GET  /healthz          200 when Redis answers, else 503 (no token needed)
//
// A new task is answered 202 Accepted, an already known one (same content
// for the same merchant) 200 OK; both carry a Location header with the
// task's URL and the task as JSON ([Task]). Errors are 4xx or 5xx with a
// body {"error":{"code":"...","message":"..."}}; the codes are listed in
// openapi.yaml ([OpenAPI]).
//
// # Waiting for a result
//
// GET /v1/uploads/{id}?wait=30s is a long poll: it answers as soon as the
// task is completed or archived, else with the task as it stands when the
// wait is over (at most [MaxWait]), when the client goes away, or when the
// server stops ([Server.EndWaits], called by [Server.Serve]). It runs
// tasks.Client.Wait, which is woken by the worker's notice of every ended
// attempt and polls only as a fallback.
//
// # Files sent in the request
//
// A multipart file part is streamed into the spool directory (which lies
// inside a media root, so the worker may read it) under a temporary name,
// hashed while it is written, never held in memory; past the size limit
// the request is refused with 413 and the partial file removed. The file
// then gets its content-addressed name (<sha256><ext>), is checked like any
// other file and queued. A rejected file, or one that could not be queued,
// is deleted again. Each task given a spooled file is recorded beside it,
// once (in the spool's hidden .refs directory), whether the file came in
// the request or a JSON request named it by its spool path (the path its
// task shows); a JSON path leading elsewhere into the spool (temporary
// files, the records, a symbolic link into it) is refused with 403
// in_spool. [Server.SweepSpool]
// deletes the files no task needs any more: all their tasks completed,
// and last sent more than a grace period ago. Files of queued, retrying or
// archived tasks stay, and so do files whose task is not in Redis at all:
// nothing proves it finished, since Redis may have lost its data; each is
// logged with its task ("enqueue serve" sweeps every 10 minutes by
// default). [Server.Serve] watches for a Redis that lost its data
// ([tasks.RedisWatch]) and logs it at error level. A file lock on each record keeps a request and a
// sweep apart on the same file, also between servers sharing the spool.
//
// # A spool in a bucket
//
// With an s3://bucket/prefix/ SpoolDir ([Config].Objects stores the
// objects) API hosts and worker hosts share no disk, only Redis and the
// object store. A file part is received into this host's temporary
// directory and hashed as above, stored in the bucket under its
// content-addressed key, then checked and hashed again as the worker will
// read it (from the bucket), and queued with its s3:// URL; the local copy
// is removed. Buckets have no file locks, so the bookkeeping is in Redis:
// per object a hash of its last use and the tasks given it, and a lock
// (SET NX with an expiry, released only by its holder) that keeps a
// request and a sweep apart across every server. [Server.SweepSpool] lists
// the prefix and deletes an object by the same rule as a file (all its
// tasks completed; kept while a task is queued, retrying or archived, or
// missing from Redis); an object whose request died before its task was
// queued goes after the grace period.
//
// # Authentication and limits
//
// Every /v1 request needs "Authorization: Bearer <token>"; the token (at
// least [MinTokenLen] bytes, white space around the configured one
// ignored) is compared in constant time, and a missing or wrong one gets 401 with a
// WWW-Authenticate header. A request without the right token is answered
// at once and, if it announced a body, its connection is closed without
// reading it, so a client without the token cannot hold a connection.
// A JSON body may be at most 64 KiB ([Config].MaxJSONSize); a multipart
// body at most the file limit ([Config].MaxFileSize,
// validate.DefaultMaxSize by default) plus 64 KiB for the other fields.
// An upload names its merchant ("merchant": the auth_app_id) and the
// worker uses the merchant's current token. An app_auth_token a request
// carries is stored in the task only sealed with the merchant key file
// (tasks.ClientConfig.Sealer; without one it is refused, 400
// token_not_sealed), and never logged nor returned. The merchant routes
// need [Config].Merchants (a merchant.Store); without it they answer 501
// merchants_not_configured.
//
// [Server.Serve] serves the handler with bounded connections and times
// (see its documentation); "enqueue serve" uses it.
//
// # Examples with curl
//
// Queue a file that is already inside a media root:
//
//	curl -sS -X POST http://127.0.0.1:8080/v1/uploads \
//	  -H "Authorization: Bearer $ENQUEUE_API_TOKEN" \
//	  -H 'Content-Type: application/json' \
//	  -d '{"path":"/srv/media/shop-12/front.jpg","image_name":"Shop 12 front"}'
//
// Send the file itself (curl -F makes a multipart/form-data request):
//
//	curl -sS http://127.0.0.1:8080/v1/uploads \
//	  -H "Authorization: Bearer $ENQUEUE_API_TOKEN" \
//	  -F file=@front.jpg -F image_name='Shop 12 front' \
//	  -F image_pid=2088000000000002 -F app_auth_token="$MERCHANT_TOKEN"
//
// Both answer, e.g. (202, Location: /v1/uploads/upload:9f86...:self):
//
//	{"task_id":"upload:9f86...:self","state":"pending","status":"queued","duplicate":false,"queue":"default",...,"result":null}
//
// "state" is asynq's name for the state; "status" says it in the words
// the enqueue command's manifest and tables use (tasks.Word: queued,
// uploading, retrying, throttled, completed, failed). Read the task until
// its status is "completed" (result holds image_id and image_url) or
// "failed" (last_error says why); with wait, the answer comes when it is:
//
//	curl -sS -H "Authorization: Bearer $ENQUEUE_API_TOKEN" \
//	  'http://127.0.0.1:8080/v1/uploads/upload:9f86...:self?wait=30s'
//
// Fetch the API description:
//
//	curl -sS http://127.0.0.1:8080/openapi.yaml
package httpapi
