// The fuzz target of the parsers (see FuzzHarness and docs/PARSING.md, "Fuzzing").
//
// bench/fuzz.sh builds it with `-sanitize=fuzzer,address -DFUZZING`: then `main` hands the command line to
// libFuzzer's driver (`LLVMFuzzerRunDriver`; SwiftPM points the executable's `main` at this module's entry point,
// so libFuzzer's own `main` cannot be used). In a normal build (CI) it is a plain program that replays the files
// named on its command line through the same checks, so the target always builds and links.
import LogferryFuzz

#if canImport(Glibc)
    import Glibc
#endif

/// Writes to stderr unbuffered, so the line is out before an abort.
func report(_ line: String) {
    var line = line + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        if let problem = FuzzHarness.check(UnsafeBufferPointer(start: data, count: size)) {
            report("logferry-fuzz: property broken: \(problem)")
            abort()
        }
        return 0
    }

    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    @main
    enum Fuzz {
        static func main() {
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
        }
    }
#else
    @main
    enum Replay {
        static func main() {
            var failures = 0
            for path in CommandLine.arguments.dropFirst() {
                guard let bytes = FuzzHarness.readFile(path) else {
                    report("\(path): cannot read")
                    failures += 1
                    continue
                }
                if let problem = FuzzHarness.check(bytes) {
                    report("\(path): \(problem)")
                    failures += 1
                }
            }
            print("\(CommandLine.arguments.count - 1) inputs, \(failures) failing")
            exit(failures == 0 ? 0 : 1)
        }
    }
#endif
