package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strconv"

	"github.com/fptcloud-exporter/fptcloud_exporter/fptapi"
)

// failureReason sorts an error into the classes a user acts on differently.
func failureReason(err error) string {
	switch {
	case errors.Is(err, errUnknownName):
		return "filter: a billing group or config name is not the account's"
	case errors.Is(err, errUnverifiedName):
		return "filter: a billing group or config name cannot be verified"
	}
	return apiFailureReason(err)
}

// apiFailureReason sorts an error of the API client.
func apiFailureReason(err error) string {
	var (
		apiErr    *fptapi.APIError
		decodeErr *fptapi.DecodeError
		netErr    net.Error
	)
	switch {
	case errors.Is(err, fptapi.ErrUnauthorized):
		return "token rejected: create a new token in FPT Cloud's console (Tokens) with billing permission"
	case errors.As(err, &apiErr) && (apiErr.HTTPStatus == http.StatusNotFound || apiErr.HTTPStatus == http.StatusMethodNotAllowed):
		return "URL wrong: --fpt.api-url must be the API's base URL, such as " + fptapi.DefaultBaseURL
	case isTLSError(err):
		return "TLS: the API's certificate could not be verified, or the URL is not https"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return "timeout: no answer within --fpt.timeout"
	case errors.As(err, &decodeErr):
		return "not JSON: the answer is not the billing API's JSON; is --fpt.api-url the API's base URL?"
	case errors.As(err, &apiErr):
		return "API error: HTTP " + strconv.Itoa(apiErr.HTTPStatus)
	case errors.Is(err, fptapi.ErrCursorRepeated) || errors.Is(err, fptapi.ErrMissingCursor):
		return "paging: the API's paging cursor did not advance"
	case errors.As(err, &netErr):
		return "connection: the API could not be reached"
	}
	return "error"
}

func isTLSError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		header           tls.RecordHeaderError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verification) || errors.As(err, &header)
}
