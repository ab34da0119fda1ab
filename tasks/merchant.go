package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/storemedia/alipay-media-worker/merchant"
	"github.com/storemedia/alipay-media-worker/upload"
)

// Tokens hands the [Handler] the current app_auth_token of a merchant
// named by a job (its auth_app_id); *merchant.Store implements it.
//
// Errors matching merchant.ErrUnauthorized, merchant.ErrNotFound or
// merchant.ErrKey archive the job at once (reasons
// [ReasonMerchantUnauthorized], [ReasonMerchantNotFound],
// [ReasonMerchantKey]); any other error (Redis or the network failing) is
// retried. No error may contain a token.
type Tokens interface {
	// Token returns the merchant's current token, refreshed ahead of its
	// expiry. A merchant that must authorize the app again gives
	// merchant.ErrUnauthorized without calling Alipay.
	Token(ctx context.Context, merchant string) (string, error)
	// Renew is called after the gateway refused stale (20001): it returns
	// the merchant's current token if stale is no longer it, else
	// refreshes the token (one refresh per merchant across the fleet) and
	// returns the new one. A refused refresh marks the merchant and gives
	// merchant.ErrUnauthorized.
	Renew(ctx context.Context, merchant, stale string) (string, error)
}

// Sealer encrypts and decrypts the app_auth_token an application holds
// itself, so that it reaches Redis only encrypted (a version 2 payload's
// sealed_token). The worker and the enqueuing side use the same key file;
// the merchant package's keyring implements it (AES-256-GCM, the first key
// of the file seals, every key opens).
type Sealer interface {
	// SealToken returns the token encrypted, as text fit for JSON.
	SealToken(token string) (string, error)
	// OpenToken returns the token sealed by SealToken. A sealed token no
	// key opens gives an error matching merchant.ErrKey.
	OpenToken(sealed string) (string, error)
}

// Reasons of a merchant job that cannot get a token. Each archives the
// task at once; its message says what to do.
const (
	// ReasonMerchantUnauthorized: the merchant must authorize the app
	// again (its token refresh was refused, or it cancelled the
	// authorization). Re-authorize it with
	// `enqueue merchant authorize --code CODE --requeue`, which re-runs
	// these tasks.
	ReasonMerchantUnauthorized Reason = "merchant_unauthorized"
	// ReasonMerchantNotFound: no merchant of that auth_app_id is
	// authorized here (never authorized, or removed).
	ReasonMerchantNotFound Reason = "merchant_not_found"
	// ReasonMerchantKey: the merchant key file cannot open the stored or
	// sealed token (a wrong key file, or one rotated without keeping the
	// old key).
	ReasonMerchantKey Reason = "merchant_key"
	// ReasonMerchantNotConfigured: the job names a merchant or carries a
	// sealed token, and the worker has no merchant key file
	// (MERCHANT_KEY_FILE).
	ReasonMerchantNotConfigured Reason = "merchant_not_configured"
)

// reasonMerchantToken: reading or refreshing a merchant's token failed for
// a reason that may pass (Redis, the network): retried.
const reasonMerchantToken Reason = "merchant_token"

// merchantReasons are the reasons of this file, for [KnownReasons].
var merchantReasons = []Reason{ReasonMerchantUnauthorized, ReasonMerchantNotFound, ReasonMerchantKey, ReasonMerchantNotConfigured, reasonMerchantToken}

// merchantError is a merchant job that cannot get a token: "<reason>:
// merchant <id>: <what>; <fix>". It unwraps to the cause.
type merchantError struct {
	reason        Reason
	who, what, do string
	err           error
}

func (e *merchantError) Error() string {
	msg := string(e.reason) + ": " + e.who + ": " + e.what
	if e.err != nil {
		msg += " (" + e.err.Error() + ")"
	}
	if e.do != "" {
		msg += "; " + e.do
	}
	return msg
}

func (e *merchantError) Unwrap() error { return e.err }

// tokenFailed classifies a failure of [Tokens] for merchant m.
func tokenFailed(m string, err error) error {
	who := "merchant " + m
	switch {
	case errors.Is(err, merchant.ErrUnauthorized):
		return rejected(ReasonMerchantUnauthorized, &merchantError{ReasonMerchantUnauthorized, who,
			"must authorize the app again (a token refresh was refused, or the authorization was cancelled)",
			"get a new app_auth_code from the merchant and run `enqueue merchant authorize --code CODE --requeue` " +
				`(or POST /v1/merchants {"code":...,"requeue":true}), which re-runs this task`, err})
	case errors.Is(err, merchant.ErrNotFound):
		return rejected(ReasonMerchantNotFound, &merchantError{ReasonMerchantNotFound, who,
			"is not authorized here (never authorized, or removed)",
			"authorize it with `enqueue merchant authorize --code CODE --requeue`, which re-runs this task, or queue the file for an authorized merchant", err})
	case errors.Is(err, merchant.ErrKey):
		return rejected(ReasonMerchantKey, &merchantError{ReasonMerchantKey, who,
			"the merchant key file cannot open its stored token",
			"give the worker the key file the token was sealed with (MERCHANT_KEY_FILE; after a rotation keep the old key in the file, after the new one), then re-run the task", err})
	default:
		return retried(reasonMerchantToken, fmt.Errorf("tasks: reading the token of merchant %s: %w", m, err))
	}
}

// notConfigured is the failure of a job that needs a merchant key file on
// a worker that has none.
func notConfigured(who string) error {
	return rejected(ReasonMerchantNotConfigured, &merchantError{ReasonMerchantNotConfigured, who,
		"this worker has no merchant key file, so it cannot read merchants' tokens",
		"set MERCHANT_KEY_FILE (the key file `enqueue merchant keygen` wrote, the one the enqueuing side uses) and restart the worker, then re-run the task", nil})
}

// upload runs one attempt at p's upload with the token its job names: a
// merchant's current one (renewed once, within the attempt, when the
// gateway refuses it with 20001), a sealed one opened, or p's own
// (version 1). Every token used is appended to used, so that the attempt's
// error and logs can be scrubbed of it. Token lookups use ctx; the upload
// itself runs with up (see ProcessTask).
func (h *Handler) upload(ctx, up context.Context, p UploadPayload, attempt int, used *[]string) (Result, error) {
	switch {
	case p.Merchant != "":
		if h.tokens == nil {
			return Result{}, notConfigured("merchant " + p.Merchant)
		}
		tok, err := h.tokens.Token(ctx, p.Merchant)
		if err != nil {
			return Result{}, tokenFailed(p.Merchant, err)
		}
		*used = append(*used, tok)
		p.AppAuthToken = tok
		res, err := h.process(up, p, attempt)
		if !errors.Is(err, upload.ErrAppAuthToken) {
			return res, err
		}
		// The token expired or was refreshed elsewhere since it was read:
		// renew it and send once more, within this attempt.
		h.log.Info("the gateway refused the merchant's token; renewing it and sending once more", "merchant", p.Merchant, "err", scrub(err.Error(), *used...))
		fresh, rerr := h.tokens.Renew(ctx, p.Merchant, tok)
		if rerr != nil {
			return Result{}, tokenFailed(p.Merchant, rerr)
		}
		*used = append(*used, fresh)
		if fresh == tok {
			return Result{}, retried(reasonMerchantToken, fmt.Errorf("tasks: merchant %s: the gateway refused its token, and renewing it gave the same token: %w", p.Merchant, err))
		}
		p.AppAuthToken = fresh
		res, err = h.process(up, p, attempt)
		if errors.Is(err, upload.ErrAppAuthToken) {
			// Refused twice in a row: the next attempt reads the token
			// again (another worker may be renewing it, or the merchant
			// is being marked for re-authorization).
			return Result{}, retried(reasonMerchantToken, fmt.Errorf("tasks: merchant %s: the gateway refused its renewed token too: %w", p.Merchant, err))
		}
		return res, err
	case p.SealedToken != "":
		if h.sealer == nil {
			return Result{}, notConfigured("the sealed app_auth_token")
		}
		tok, err := h.sealer.OpenToken(p.SealedToken)
		if err != nil {
			return Result{}, rejected(ReasonMerchantKey, &merchantError{ReasonMerchantKey, "the sealed app_auth_token",
				"the merchant key file cannot open it",
				"give the worker the key file the enqueuing side sealed it with (MERCHANT_KEY_FILE; after a rotation keep the old key in the file), then re-run the task", err})
		}
		*used = append(*used, tok)
		p.AppAuthToken = tok
	}
	return h.process(up, p, attempt)
}

// sealedTokenAD binds a sealed token to its place, a payload's
// sealed_token, so that no other value sealed with the same key file
// (a merchant record's token) can be swapped in.
var sealedTokenAD = []byte("alipay-media-worker/payload/sealed_token")

// KeyringSealer is the [Sealer] of a merchant key file: the first key of k
// seals, every key opens (rotation).
func KeyringSealer(k *merchant.Keyring) Sealer { return keyringSealer{k} }

type keyringSealer struct{ k *merchant.Keyring }

func (s keyringSealer) SealToken(token string) (string, error) {
	return s.k.Seal([]byte(token), sealedTokenAD)
}

func (s keyringSealer) OpenToken(sealed string) (string, error) {
	b, err := s.k.Open(sealed, sealedTokenAD)
	return string(b), err
}

// requeuePageSize is how many archived tasks [Client.RequeueMerchant]
// reads at a time.
const requeuePageSize = 500

// RequeueMerchant runs again, now, every archived task of the merchant
// authAppID (UploadPayload.Merchant) that failed because the merchant
// could not give a token: [ReasonMerchantUnauthorized] or
// [ReasonMerchantNotFound]. It looks in every queue, and returns the IDs
// of the tasks it re-ran. Call it once the merchant is authorized again.
// Redis failing gives an error matching [ErrUnavailable], with the tasks
// re-run until then.
func (c *Client) RequeueMerchant(ctx context.Context, authAppID string) ([]string, error) {
	queues, err := c.inspector.Queues()
	if err != nil {
		return nil, c.unavailable("listing queues", err)
	}
	var ids []string
	for _, q := range queues {
		var due []string
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				return ids, err
			}
			infos, err := c.inspector.ListArchivedTasks(q, asynq.PageSize(requeuePageSize), asynq.Page(page))
			if err != nil {
				return ids, c.unavailable("listing archived tasks", err)
			}
			for _, info := range infos {
				if info.Type == TypeUpload && merchantFailure(info, authAppID) {
					due = append(due, info.ID)
				}
			}
			if len(infos) < requeuePageSize {
				break
			}
		}
		// Re-run after listing: running a task takes it out of the list
		// being paged through.
		for _, id := range due {
			if err := c.inspector.RunTask(q, id); err != nil {
				if errors.Is(err, asynq.ErrTaskNotFound) {
					continue // re-run or deleted meanwhile
				}
				return ids, c.unavailable("re-running a task", err)
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// merchantFailure reports whether info is a task of merchant m archived
// because the merchant could not give a token.
func merchantFailure(info *asynq.TaskInfo, m string) bool {
	if !strings.HasPrefix(info.LastErr, string(ReasonMerchantUnauthorized)+": ") && !strings.HasPrefix(info.LastErr, string(ReasonMerchantNotFound)+": ") {
		return false
	}
	var p struct {
		Merchant string `json:"merchant"`
	}
	return json.Unmarshal(info.Payload, &p) == nil && p.Merchant == m
}
