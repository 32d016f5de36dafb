package receiver

import "errors"

// PermanentError is a Sink error that retrying cannot fix (a run over its
// span limit): the receiver answers it with a non-retryable status (HTTP
// 400, gRPC FAILED_PRECONDITION), so exporters drop the batch at once
// instead of retrying until their timeout.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func isPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
