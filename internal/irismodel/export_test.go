package irismodel

// LoadLimited is Load with a smaller size limit, for tests.
var LoadLimited = load
