module.exports = require('@vql/jest-preset').createJestConfig(__dirname);
