import DESICore
import Foundation

/// Kinds of task, in pipeline order (desispec.pipeline task types; arcshift is desi_proc's arc_traceshift step, the
/// trace shifts of an arc before its PSF fit, a type of its own so that the types stay in dependency order).
public enum TaskType: String, Sendable, Codable, CaseIterable, Comparable {
    case preproc, arcshift, psf, psfnight, traceshift, extract, fiberflat, fiberflatnight, sky, stdstars, fluxcalib, cframe
    case spectra, coadd, qa, view, qaexposure, qanight

    public var order: Int { TaskType.allCases.firstIndex(of: self)! }
    public static func < (a: TaskType, b: TaskType) -> Bool { a.order < b.order }
}

/// One task: one invocation of a `desispec` subcommand that makes one set of outputs from its inputs.
/// The task's name is unique in a production: type_night[_expid][_camera|_spectrograph|_tile].
public struct PipelineTask: Sendable, Codable, Equatable {
    public var name: String
    public var type: TaskType
    public var night: String
    public var expid: Int?
    /// Camera ("r0"), spectrograph ("sp0") or tile ("tile1000") the task works on.
    public var unit: String?
    /// Arguments of the `desispec` executable, subcommand first.
    public var arguments: [String]
    public var inputs: [String]
    public var outputs: [String]
    /// Names of the tasks whose outputs this one reads.
    public var dependencies: [String]

    public init(type: TaskType, night: String, expid: Int? = nil, unit: String? = nil, arguments: [String],
                inputs: [String], outputs: [String], dependencies: [String]) {
        var parts = [type.rawValue, night]
        if let expid { parts.append(FileLayout.expidString(expid)) }
        if let unit { parts.append(unit) }
        self.name = parts.joined(separator: "_")
        self.type = type; self.night = night; self.expid = expid; self.unit = unit
        self.arguments = arguments; self.inputs = inputs; self.outputs = outputs; self.dependencies = dependencies
    }

    /// The command line a person would type to run this task by hand.
    public var commandLine: String {
        (["desispec"] + arguments).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
    }
}
