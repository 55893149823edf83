package pickle

// This file is the contract between the machine (parsing and policy,
// issue #12) and its consumers (validate's scan and the scikit-learn
// runtime, issue #13). Fields may be added; none is renamed or removed
// without changing every consumer in the same commit.

import (
	"fmt"
	"math/big"
)

// Global names a Python global that a pickle looks up with GLOBAL,
// STACK_GLOBAL or INST: the module and the attribute. It is compared
// exactly, never by prefix. Module spellings are canonical: numpy 2's
// numpy._core is reported as numpy.core, Python 2 names as Python 3 ones.
type Global struct {
	Module string
	Name   string
}

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// Value is an inert Python value of an approved graph. Its dynamic type
// is one of:
//
//	nil          None
//	bool         True, False
//	int64        an int that fits
//	*big.Int     a larger int (bounded by the policy's budget)
//	float64      a float, or a numpy float64/float32 scalar (widened)
//	string       a str
//	[]byte       bytes or bytearray
//	*List        a list
//	*Tuple       a tuple
//	*Dict        a dict
//	*Set         a set or frozenset
//	*Object      an instance of an allowed class (REDUCE, NEWOBJ, BUILD)
//	*Array       a numpy.ndarray, its data decoded
//	*Dtype       a numpy.dtype
//	*Scalar      a numpy scalar other than float64/float32 (int64, bool_, ...)
//	Global       a class or function used as a value (e.g. dtype=numpy.float64)
//
// Values reached through the memo are the same pointer: aliasing is kept.
type Value = any

// List is a Python list.
type List struct{ Items []Value }

// Tuple is a Python tuple.
type Tuple struct{ Items []Value }

// Dict is a Python dict in insertion order; assigning an existing str key
// again replaces its value, as Python does.
type Dict struct {
	Keys []Value
	Vals []Value
}

// Get returns the value stored under the str key, and whether there is one.
func (d *Dict) Get(key string) (Value, bool) {
	for i, k := range d.Keys {
		if s, ok := k.(string); ok && s == key {
			return d.Vals[i], true
		}
	}
	return nil, false
}

// Set is a Python set or frozenset, its items in the order the pickle
// lists them.
type Set struct {
	Items  []Value
	Frozen bool
}

// Object is an instance of an allowed class: the class, the arguments of
// the call that made it (REDUCE's tuple, NEWOBJ's args), and its state
// (the one BUILD the policy allows, usually a *Dict; nil when none).
type Object struct {
	Class Global
	Args  []Value
	State Value
}

// Attr returns the state's value for name when the state is a *Dict.
func (o *Object) Attr(name string) (Value, bool) {
	if d, ok := o.State.(*Dict); ok {
		return d.Get(name)
	}
	return nil, false
}

// ByteOrder is a dtype's byte order as numpy spells it.
type ByteOrder byte

// Byte orders.
const (
	LittleEndian  ByteOrder = '<'
	BigEndian     ByteOrder = '>'
	NotApplicable ByteOrder = '|'
)

// Dtype is a numpy.dtype. Kind is numpy's kind character: 'b' bool,
// 'i' signed, 'u' unsigned, 'f' float, 'c' complex, 'U' unicode (UTF-32),
// 'S' bytes, 'O' object, 'V' structured or void. ItemSize is in bytes.
// A structured dtype ('V') lists its fields in order.
type Dtype struct {
	Kind     byte
	ItemSize int
	Order    ByteOrder
	Fields   []Field
}

// Field is one field of a structured dtype.
type Field struct {
	Name   string
	Dtype  *Dtype
	Offset int
}

// String returns numpy's type string, such as "<f8" or "|V64".
func (d *Dtype) String() string { return fmt.Sprintf("%c%c%d", d.Order, d.Kind, d.ItemSize) }

// Array is a numpy.ndarray. For every kind but 'O', Data holds the
// elements in their dtype's byte order, len(Data) == Len()*ItemSize, in C
// order unless Fortran. For 'O', Objects holds Len() values in C order.
type Array struct {
	Dtype   *Dtype
	Shape   []int
	Fortran bool
	Data    []byte
	Objects []Value
}

// Len returns the number of elements, the product of Shape.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Scalar is a numpy scalar (numpy.core.multiarray.scalar(dtype, bytes))
// of a kind other than float: Data holds one element.
type Scalar struct {
	Dtype *Dtype
	Data  []byte
}

var _ = big.NewInt // *big.Int is part of Value
