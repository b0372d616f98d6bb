import ArgumentParser
import DESICore
import Foundation
import Logging

/// Options every subcommand takes: verbosity.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print debug messages.")
    var verbose = false
    @Flag(name: .shortAndLong, help: "Print only warnings and errors.")
    var quiet = false

    /// Sets up logging to standard error at the requested level and returns the command's logger.
    func makeLogger(_ label: String) -> Logger {
        LoggingSetup.bootstrapOnce()
        var logger = Logger(label: "desispec.\(label)")
        logger.logLevel = verbose ? .debug : (quiet ? .warning : .info)
        return logger
    }
}

enum LoggingSetup {
    nonisolated(unsafe) private static var done = false
    static func bootstrapOnce() {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .trace
            return h
        }
    }
}

/// Runs a step, turning any thrown error into one clear line on standard error and exit code 1.
/// `keepingFreedArraysInHeap`: for steps that allocate and free frame-sized arrays again and again, freed blocks
/// stay in the heap while the step runs (`withFreedArraysKeptInHeap`), which saves the kernel's page clearing.
func runStep(keepingFreedArraysInHeap: Bool = false, _ body: () throws -> Void) throws {
    do {
        if keepingFreedArraysInHeap { try withFreedArraysKeptInHeap(body) } else { try body() }
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
