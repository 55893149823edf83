// Package validate checks model packages: composable validators that write
// every finding into one Report.
package validate
