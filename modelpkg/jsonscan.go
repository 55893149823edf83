package modelpkg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// readCapped reads all of r, failing with [ErrResourceLimit] as soon as it
// produces more than max bytes, so no more than max+1 bytes are buffered.
func readCapped(r io.Reader, max int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", what, ErrResourceLimit, max)
	}
	return data, nil
}

// checkJSONDepth scans data and fails with [ErrResourceLimit] if arrays and
// objects nest deeper than max. It does not validate the syntax; it only
// makes sure the decoder that follows never builds a deep value.
func checkJSONDepth(data []byte, max int, what string) error {
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > max {
				return fmt.Errorf("%s: %w: JSON nested deeper than %d", what, ErrResourceLimit, max)
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return nil
}

// errDupKey reports a key that occurs twice in one object.
var errDupKey = errors.New("duplicate key")

// decodeObject decodes the JSON object in data into its members, in order,
// rejecting duplicate keys (which decoders resolve differently) and
// anything after the object. The caller checks depth first.
func decodeObject(data []byte) (keys []string, members map[string]json.RawMessage, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	members = make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, errors.New("malformed object")
		}
		if _, dup := members[key]; dup {
			return nil, nil, fmt.Errorf("%w %q", errDupKey, key)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, err
		}
		keys = append(keys, key)
		members[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the JSON object")
	}
	return keys, members, nil
}

// jsonKind names the JSON type of a raw value for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
